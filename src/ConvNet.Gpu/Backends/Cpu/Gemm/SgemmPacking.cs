using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the panel layouts the micro-kernels stream through:
/// A block (mc x kc) as panels of <c>mr</c> rows, each stored k-major (p * mr + i), alpha folded in;
/// B block (kc x nc) as panels of <c>nr</c> columns, each stored k-major (p * nr + j), zero-padded to nr.
/// </summary>
internal static unsafe class SgemmPacking
{
    /// <summary>
    /// Packs rows [i0, i0+mc) and reduction range [p0, p0+kc) of op(A) into <paramref name="dst"/>; panel q starts at
    /// dst + q*mr*kc. A ragged last panel keeps the stride mr (the kernels read only its live rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transA, float* a, int lda, int i0, int p0, int mc, int kc, int mr, float alpha, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = dst + (long)ir * kc;
            if (!transA)
            {
                // A is (m x k) row-major: row i is contiguous along p; the panel wants p-major, so transpose.
                PanelTranspose.Run(a + (long)(i0 + ir) * lda + p0, lda, rows, kc, panel, mr, alpha);
            }
            else
            {
                // A is stored (k x m): for each p the panel's rows are contiguous in memory.
                for (int p = 0; p < kc; p++)
                    ScaleCopy(a + (long)(p0 + p) * lda + i0 + ir, panel + (long)p * mr, rows, alpha);
            }
        }
    }

    /// <summary>
    /// Packs reduction range [p0, p0+kc) and columns [j0, j0+nc) of op(B) into <paramref name="dst"/>; panel q starts at
    /// dst + q*nr*kc and columns past nc are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* panel = dst + (long)jr * kc;
            if (!transB)
            {
                // B is (k x n) row-major: each p contributes nr contiguous floats.
                float* src = b + (long)p0 * ldb + j0 + jr;
                if (cols == nr)
                {
                    for (int p = 0; p < kc; p++) Copy(src + (long)p * ldb, panel + (long)p * nr, nr);
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* d = panel + (long)p * nr;
                        float* s = src + (long)p * ldb;
                        int j = 0;
                        for (; j < cols; j++) d[j] = s[j];
                        for (; j < nr; j++) d[j] = 0f;
                    }
                }
            }
            else
            {
                // B is stored (n x k): column j of op(B) is row j in memory, contiguous along p; transpose.
                PanelTranspose.Run(b + (long)(j0 + jr) * ldb + p0, ldb, cols, kc, panel, nr, 1f);
                if (cols < nr)
                    for (int p = 0; p < kc; p++)
                        new Span<float>(panel + (long)p * nr + cols, nr - cols).Clear();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Copy(float* src, float* dst, int count)
    {
        int j = 0;
        for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
        for (; j < count; j++) dst[j] = src[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ScaleCopy(float* src, float* dst, int count, float alpha)
    {
        if (alpha == 1f) { Copy(src, dst, count); return; }
        int j = 0;
        var va = Vector256.Create(alpha);
        for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(src + j) * va, dst + j);
        for (; j < count; j++) dst[j] = alpha * src[j];
    }
}
