using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cpu.Gemm;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The packed SGEMM engine against a naive float64 triple loop: odd sizes that leave ragged tiles on both edges,
/// sizes that cross the KC/MC/NC block boundaries, every transpose combination, several alpha/beta values,
/// padded leading dimensions, each kernel family this CPU supports, one and two threads.
/// </summary>
public sealed unsafe class SgemmKernelTests
{
    /// <summary>Kernel family names (the enum is internal, so theories take its name).</summary>
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var k in Enum.GetValues<SgemmKernelKind>())
            if (PackedSgemm.IsSupported(k)) data.Add(k.ToString());
        return data;
    }

    private static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (1, 37, 5), (29, 1, 3), (7, 13, 1), (12, 32, 16), (13, 33, 17), (6, 784, 25),
        (31, 45, 300), (100, 70, 513), (250, 61, 40), (5, 2100, 9), (64, 100, 600),
    ];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void MatchesFloat64ReferenceForAllTransposesAndScalars(string kernelName)
    {
        var kernel = Enum.Parse<SgemmKernelKind>(kernelName);
        var rng = new Random(1234);
        var par = new ParallelOptions { MaxDegreeOfParallelism = 2 };
        foreach (var (m, n, k) in Sizes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (var (alpha, beta) in new[] { (1f, 0f), (1f, 1f), (0.5f, -1.5f), (-2f, 0.25f) })
                        foreach (var p in new[] { null, par })
                            Check(rng, kernel, ta, tb, m, n, k, alpha, beta, pad: (m + n) % 3, p);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void BetaZeroOverwritesNaNPoison(string kernelName)
    {
        var kernel = Enum.Parse<SgemmKernelKind>(kernelName);
        const int m = 19, n = 41, k = 23;
        var rng = new Random(7);
        float[] a = Random(rng, m * k), b = Random(rng, k * n), c = new float[m * n];
        Array.Fill(c, float.NaN);
        fixed (float* pa = a, pb = b, pc = c)
            PackedSgemm.Run(false, false, m, n, k, 1f, pa, k, pb, n, 0f, pc, n, null, kernel);
        double[] expected = Reference(false, false, m, n, k, 1, a, k, b, n, 0, new float[m * n], n);
        AssertClose(expected, c, n, m, n, k, "NaN poison");
    }

    [Fact]
    public void ZeroAlphaOrEmptyReductionOnlyScalesC()
    {
        float[] a = [float.NaN, float.NaN], b = [float.NaN, float.NaN], c = [1f, 2f, 3f, 4f];
        fixed (float* pa = a, pb = b, pc = c)
        {
            PackedSgemm.Run(false, false, 2, 2, 1, 0f, pa, 1, pb, 2, 2f, pc, 2, null);
            Assert.Equal([2f, 4f, 6f, 8f], c);
            PackedSgemm.Run(false, false, 2, 2, 0, 1f, pa, 1, pb, 2, 0f, pc, 2, null);
            Assert.Equal([0f, 0f, 0f, 0f], c);
        }
    }

    [Fact]
    public void LargeSquareAcrossBlocksWithTwoThreads()
    {
        var rng = new Random(99);
        var par = new ParallelOptions { MaxDegreeOfParallelism = 2 };
        Check(rng, PackedSgemm.BestKernel, false, false, 300, 2200, 530, 1f, 0f, 0, par);
        Check(rng, PackedSgemm.BestKernel, true, true, 517, 260, 270, 1f, 1f, 3, par);
    }

    [Fact]
    public void StridedBatchedMatchesPerMatrixReference()
    {
        const int m = 9, n = 21, k = 14, batch = 5;
        var rng = new Random(5);
        float[] a = Random(rng, m * k), b = Random(rng, batch * k * n + 3), c = Random(rng, batch * m * n);
        float[] c0 = (float[])c.Clone();
        var par = new ParallelOptions { MaxDegreeOfParallelism = 2 };
        fixed (float* pa = a, pb = b, pc = c)
            PackedSgemm.RunStridedBatched(false, false, m, n, k, 0.75f, pa, k, 0, pb, n, k * n, 0.5f, pc, n, m * n, batch, par);
        for (int i = 0; i < batch; i++)
        {
            double[] e = Reference(false, false, m, n, k, 0.75, a, k, b[(i * k * n)..], n, 0.5, c0[(i * m * n)..], n);
            AssertClose(e, c.AsSpan(i * m * n, m * n).ToArray(), n, m, n, k, $"batch {i}");
        }
    }

    [Fact]
    public void StridedBatchedLargeOddBatchRunsEachGemmOnAllThreads()
    {
        // 2*m*n*k above the per-matrix threshold and an odd batch: the GEMMs run in turn, each split across threads.
        const int m = 410, n = 415, k = 405, batch = 3;
        var rng = new Random(8);
        float[] a = Random(rng, batch * m * k), b = Random(rng, k * n), c = Random(rng, batch * (m * n + 7));
        float[] c0 = (float[])c.Clone();
        var par = new ParallelOptions { MaxDegreeOfParallelism = 2 };
        fixed (float* pa = a, pb = b, pc = c)
            CpuBackend.SgemmStridedBatched(true, false, m, n, k, 1f, pa, m, m * k, pb, n, 0, 1f, pc, n, m * n + 7, batch, par);
        for (int i = 0; i < batch; i++)
        {
            int off = i * (m * n + 7);
            double[] e = Reference(true, false, m, n, k, 1, a[(i * m * k)..], m, b, n, 1, c0[off..(off + m * n)], n);
            AssertClose(e, c.AsSpan(off, m * n).ToArray(), n, m, n, k, $"batch {i}");
            Assert.Equal(c0.AsSpan(off + m * n, 7).ToArray(), c.AsSpan(off + m * n, 7).ToArray()); // gap between C matrices untouched
        }
    }

    [Fact]
    public void BackendGemmUsesDenseLeadingDimensions()
    {
        using var backend = new CpuBackend(2);
        const int m = 33, n = 17, k = 45;
        var rng = new Random(3);
        float[] a = Random(rng, m * k), b = Random(rng, k * n);
        using var ta = backend.Allocate(TensorShape.Matrix(k, m));
        using var tb = backend.Allocate(TensorShape.Matrix(n, k));
        using var tc = backend.Allocate(TensorShape.Matrix(m, n));
        ta.Upload(a);
        tb.Upload(b);
        backend.Gemm(true, true, m, n, k, 1f, ta, tb, 0f, tc);
        double[] e = Reference(true, true, m, n, k, 1, a, m, b, k, 0, new float[m * n], n);
        AssertClose(e, tc.ToArray(), n, m, n, k, "backend");
    }

    private static void Check(Random rng, SgemmKernelKind kernel, bool ta, bool tb, int m, int n, int k,
        float alpha, float beta, int pad, ParallelOptions? par)
    {
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        float[] a = Random(rng, (ta ? k : m) * lda), b = Random(rng, (tb ? n : k) * ldb), c = Random(rng, m * ldc);
        double[] expected = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        fixed (float* pa = a, pb = b, pc = c)
            PackedSgemm.Run(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, par, kernel);
        AssertClose(expected, c, ldc, m, n, k, $"{kernel} ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta} pad={pad} threads={par?.MaxDegreeOfParallelism ?? 1}");
    }

    /// <summary>Naive float64 reference; returns the full C buffer (padding columns keep their old values).</summary>
    private static double[] Reference(bool ta, bool tb, int m, int n, int k, double alpha,
        float[] a, int lda, float[] b, int ldb, double beta, float[] c, int ldc)
    {
        var r = new double[c.Length];
        for (int i = 0; i < c.Length; i++) r[i] = c[i];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)a[ta ? p * lda + i : i * lda + p] * b[tb ? j * ldb + p : p * ldb + j];
                r[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
        return r;
    }

    private static void AssertClose(double[] expected, float[] actual, int ldc, int m, int n, int k, string what)
    {
        // Inputs are in [-1, 1]: the float32 rounding error of a length-k dot product grows like sqrt(k) * eps.
        double tol = 1e-5 * Math.Sqrt(k) + 1e-6;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                double e = expected[i * ldc + j], x = actual[i * ldc + j];
                if (j >= n) { Assert.True(e == x, $"{what}: padding C[{i},{j}] changed from {e} to {x}"); continue; }
                Assert.True(Math.Abs(e - x) <= tol * (1 + Math.Abs(e)), $"{what}: C[{i},{j}] = {x}, expected {e}");
            }
    }

    private static float[] Random(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
