namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 row-major GEMM: C = alpha op(A) op(B) + beta C (beta = 0 ignores C, NaNs included).</summary>
public static class GemmReference
{
    /// <summary>One GEMM on arrays starting at the given offsets; returns the new C block (m x n).</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, double[] a, long offA,
        double[] b, long offB, double beta, double[] c, long offC)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                double av = transA ? a[offA + (long)p * m + i] : a[offA + (long)i * k + p];
                double bv = transB ? b[offB + (long)j * k + p] : b[offB + (long)p * n + j];
                s += av * bv;
            }
            long at = offC + (long)i * n + j;
            c[at] = beta == 0 ? alpha * s : alpha * s + beta * c[at];
        }
    }
}
