using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// The single-threaded GotoBLAS/BLIS loop nest around a micro-kernel:
/// <code>
/// for jc over n in NC blocks            B block (KC x NC) is packed once per (jc, pc)
///   for pc over k in KC blocks
///     for ic over m in MC blocks        A block (MC x KC, in L2) is packed once per (jc, pc, ic)
///       for jr over the block in NR     B panel (KC x NR) stays in L1 across the ir loop
///         for ir over the block in MR   one micro-kernel call: an MR x NR tile of C
/// </code>
/// The first reduction block applies beta (or overwrites C when beta = 0); later ones accumulate.
/// </summary>
internal static unsafe class SgemmDriver
{
    /// <summary>C (m x n, ldc) = alpha op(A) op(B) + beta C on the calling thread; m, n, k &gt; 0 and alpha != 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TK>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, SgemmScratch scratch)
        where TK : struct, ISgemmKernel
    {
        int mcMax = Math.Min(TK.MC, RoundUp(m, TK.MR));
        int ncMax = Math.Min(TK.NC, RoundUp(n, TK.NR));
        int kcMax = Math.Min(TK.KC, k);
        float* packA = scratch.A((long)mcMax * kcMax);
        float* packB = scratch.B((long)ncMax * kcMax);
        float* tile = scratch.Tile(TK.MR * TK.NR);
        TileStore first = beta == 0f ? TileStore.Overwrite : beta == 1f ? TileStore.Accumulate : TileStore.Scale;

        for (int jc = 0; jc < n; jc += TK.NC)
        {
            int nc = Math.Min(TK.NC, n - jc);
            for (int pc = 0; pc < k; pc += TK.KC)
            {
                int kc = Math.Min(TK.KC, k - pc);
                TileStore mode = pc == 0 ? first : TileStore.Accumulate;
                SgemmPacking.PackB(transB, b, ldb, pc, jc, kc, nc, TK.NR, packB);
                for (int ic = 0; ic < m; ic += TK.MC)
                {
                    int mc = Math.Min(TK.MC, m - ic);
                    SgemmPacking.PackA(transA, a, lda, ic, pc, mc, kc, TK.MR, alpha, packA);
                    for (int jr = 0; jr < nc; jr += TK.NR)
                    {
                        int nr = Math.Min(TK.NR, nc - jr);
                        float* bPanel = packB + (long)jr * kc;
                        float* cCol = c + (long)ic * ldc + jc + jr;
                        for (int ir = 0; ir < mc; ir += TK.MR)
                        {
                            int mr = Math.Min(TK.MR, mc - ir);
                            TK.Tile(mr, nr, kc, packA + (long)ir * kc, bPanel, cCol + (long)ir * ldc, ldc, mode, beta, tile);
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
