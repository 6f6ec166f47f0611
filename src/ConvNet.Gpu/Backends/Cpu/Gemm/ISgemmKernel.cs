namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// A register-tiled SGEMM micro-kernel and the cache-block sizes that suit it. Implemented by structs so the blocked
/// driver (<see cref="SgemmDriver"/>) is specialized per kernel by the JIT and every size below is a constant.
/// </summary>
internal unsafe interface ISgemmKernel
{
    /// <summary>Rows of C per tile; packed A panels are MR rows tall.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile; packed B panels are NR columns wide.</summary>
    static abstract int NR { get; }

    /// <summary>Reduction depth of a packed block.</summary>
    static abstract int KC { get; }

    /// <summary>Rows of op(A) per packed block, a multiple of MR.</summary>
    static abstract int MC { get; }

    /// <summary>Columns of op(B) per packed block, a multiple of NR.</summary>
    static abstract int NC { get; }

    /// <summary>Whether the running CPU supports the kernel's instructions.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// Multiplies a packed A panel (kc steps of MR floats, only the first <paramref name="mr"/> rows used) by a packed
    /// B panel (kc steps of NR floats, zero-padded past <paramref name="nr"/>) and combines the mr x nr result with C
    /// (row-major, leading dimension <paramref name="ldc"/>) as <paramref name="mode"/> says. <paramref name="t"/> is an
    /// MR x NR scratch tile for ragged right edges.
    /// </summary>
    static abstract void Tile(int mr, int nr, int kc, float* a, float* b, float* c, int ldc, TileStore mode, float beta, float* t);
}

/// <summary>How a micro-kernel combines its product P with the existing C tile.</summary>
internal enum TileStore
{
    /// <summary>C = P; C is never read, so NaN or garbage in C disappears (BLAS beta = 0).</summary>
    Overwrite,

    /// <summary>C = C + P (beta = 1, and every reduction block after the first).</summary>
    Accumulate,

    /// <summary>C = beta * C + P (any other beta, first reduction block only).</summary>
    Scale,
}
