using System.Numerics;

namespace ConvNet.Gpu.Backends.Cuda.Kernels;

/// <summary>
/// The host half of kernels/cn_fastdiv.cuh: the packed multiply-high constant that lets a kernel divide by a
/// runtime-invariant divisor d in [1, 2^31) with one multiply-high and a shift. For every dividend n in [0, 2^31):
/// n / d == umulhi(n, mul) >> shift, with l = ceil(log2 d), mul = ceil(2^(31+l) / d) and shift = l - 1 (d = 1: magic 0,
/// the kernel returns n). The header carries the proof; <see cref="Divide"/> is the same arithmetic on the host, for tests.
/// </summary>
internal static class FastDivisor
{
    /// <summary>The packed constant for <paramref name="divisor"/>: mul in the low 32 bits, shift in bits 32-39.</summary>
    public static ulong Magic(int divisor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(divisor, 1);
        if (divisor == 1) return 0;
        int l = 32 - BitOperations.LeadingZeroCount((uint)(divisor - 1)); // ceil(log2 d) for d >= 2
        ulong mul = ((1UL << (31 + l)) + (ulong)divisor - 1) / (ulong)divisor;
        if (mul > uint.MaxValue) throw new InvalidOperationException($"FastDivisor: multiplier for {divisor} does not fit 32 bits.");
        return mul | ((ulong)(l - 1) << 32);
    }

    /// <summary>n / d computed as the kernels do (n in [0, 2^31)).</summary>
    public static int Divide(int n, ulong magic)
    {
        uint mul = (uint)magic;
        if (mul == 0) return n;
        return (int)((uint)(((ulong)(uint)n * mul) >> 32) >> (int)(magic >> 32));
    }
}
