using System.Numerics;

namespace ConvNet.Gpu.Backends.Cuda.Emulation;

/// <summary>
/// A simple, correct row-major SGEMM for the emulated cuBLAS (rows in parallel, the inner loop over a contiguous
/// row of op(B) vectorized). Accumulates in float in k order, like a straightforward GEMM.
/// </summary>
internal static unsafe class ReferenceSgemm
{
    /// <summary>Row-major C(m x n, ldc) = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n. beta = 0 overwrites C.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? parallel)
    {
        if (m <= 0 || n <= 0) return;
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        void Row(int i)
        {
            float* ci = (float*)pc + (long)i * ldc;
            float* ai = (float*)pa;
            float* bm = (float*)pb;
            // Scale (or clear) the output row first: beta = 0 must not propagate NaNs already in C.
            for (int j = 0; j < n; j++) ci[j] = beta == 0f ? 0f : beta * ci[j];
            if (alpha == 0f || k == 0) return;
            for (int p = 0; p < k; p++)
            {
                float av = alpha * (transA ? ai[(long)p * lda + i] : ai[(long)i * lda + p]);
                if (!transB)
                {
                    float* bp = bm + (long)p * ldb;
                    int j = 0;
                    var va = new Vector<float>(av);
                    for (; j <= n - Vector<float>.Count; j += Vector<float>.Count)
                    {
                        var vc = Vector.Load(ci + j) + va * Vector.Load(bp + j);
                        vc.Store(ci + j);
                    }
                    for (; j < n; j++) ci[j] += av * bp[j];
                }
                else
                {
                    for (int j = 0; j < n; j++) ci[j] += av * bm[(long)j * ldb + p];
                }
            }
        }
        if (parallel is null || (long)m * n * k < 1 << 16) for (int i = 0; i < m; i++) Row(i);
        else Parallel.For(0, m, parallel, Row);
    }
}
