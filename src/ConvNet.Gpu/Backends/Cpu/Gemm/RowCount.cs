namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// A compile-time row count for micro-kernel specialization: kernels are generic over a struct implementing this,
/// so the JIT emits one copy per count with the unused accumulator rows removed.
/// </summary>
internal interface IRowCount
{
    /// <summary>The number of live rows.</summary>
    static abstract int Value { get; }
}

#pragma warning disable CS1591 // one-line markers whose meaning is their name
internal readonly struct R1 : IRowCount { public static int Value => 1; }
internal readonly struct R2 : IRowCount { public static int Value => 2; }
internal readonly struct R3 : IRowCount { public static int Value => 3; }
internal readonly struct R4 : IRowCount { public static int Value => 4; }
internal readonly struct R5 : IRowCount { public static int Value => 5; }
internal readonly struct R6 : IRowCount { public static int Value => 6; }
internal readonly struct R7 : IRowCount { public static int Value => 7; }
internal readonly struct R8 : IRowCount { public static int Value => 8; }
internal readonly struct R9 : IRowCount { public static int Value => 9; }
internal readonly struct R10 : IRowCount { public static int Value => 10; }
internal readonly struct R11 : IRowCount { public static int Value => 11; }
internal readonly struct R12 : IRowCount { public static int Value => 12; }
internal readonly struct R13 : IRowCount { public static int Value => 13; }
internal readonly struct R14 : IRowCount { public static int Value => 14; }
#pragma warning restore CS1591
