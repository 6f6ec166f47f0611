using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Loads of eight horizontally adjacent pooling windows' columns, shared by the max and average SIMD blocks.
/// </summary>
internal static unsafe class PoolColumns
{
    /// <summary>
    /// Whether windows ow..ow+7 lie wholly inside the row horizontally and every load <see cref="LoadColumns"/> makes
    /// for them stays inside it (the stride-2 path reads 16 consecutive floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool CanVectorizeColumns(int ow, int oW, int sw, int kw, int pw, int w)
    {
        if (ow + 8 > oW) return false;
        int first = ow * sw - pw;
        if (first < 0) return false;
        int lastRead = sw == 2 ? first + kw - 1 + 15 : first + 7 * sw + kw - 1;
        return lastRead < w;
    }

    /// <summary>row[start + j*stride] for j = 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LoadColumns(float* row, int start, int stride, Vector256<int> evenOdd) => stride switch
    {
        1 => Vector256.Load(row + start),
        2 => SplitEvenOdd(row + start, evenOdd).Even,
        _ => Vector256.Create(row[start], row[start + stride], row[start + 2 * stride], row[start + 3 * stride],
            row[start + 4 * stride], row[start + 5 * stride], row[start + 6 * stride], row[start + 7 * stride]),
    };

    /// <summary>16 consecutive floats split into the 8 at even offsets and the 8 at odd offsets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<float> Even, Vector256<float> Odd) SplitEvenOdd(float* p, Vector256<int> evenOdd)
    {
        var lo = Vector256.Shuffle(Vector256.Load(p), evenOdd);     // e0 e1 e2 e3 | o0 o1 o2 o3
        var hi = Vector256.Shuffle(Vector256.Load(p + 8), evenOdd); // e4 e5 e6 e7 | o4 o5 o6 o7
        return (Vector256.Create(lo.GetLower(), hi.GetLower()), Vector256.Create(lo.GetUpper(), hi.GetUpper()));
    }
}
