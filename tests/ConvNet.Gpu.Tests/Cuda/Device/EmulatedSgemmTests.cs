using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>The emulated cuBLAS against a float64 column-major reference written from cuBLAS's definition.</summary>
public sealed class EmulatedSgemmTests
{
    [Theory]
    [InlineData(false, false, 5, 7, 3)]
    [InlineData(true, false, 6, 4, 9)]
    [InlineData(false, true, 3, 8, 5)]
    [InlineData(true, true, 17, 13, 11)]
    public void Sgemm_matches_the_column_major_definition_with_padded_leading_dimensions(bool transA, bool transB, int m, int n, int k)
    {
        using var device = EmulatorFixture.Open();
        var rng = new Random(m * 1000 + n * 10 + k);
        int rowsA = transA ? k : m, colsA = transA ? m : k, rowsB = transB ? n : k, colsB = transB ? k : n;
        int lda = rowsA + 2, ldb = rowsB + 1, ldc = m + 3;
        float[] a = Random(rng, lda * colsA), b = Random(rng, ldb * colsB), c = Random(rng, ldc * n);
        const float alpha = 1.5f, beta = -0.5f;

        var expected = (float[])c.Clone();
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(transA ? a[p + i * lda] : a[i + p * lda]) * (transB ? b[j + p * ldb] : b[p + j * ldb]);
                expected[i + j * ldc] = (float)(alpha * sum + beta * c[i + j * ldc]);
            }

        ulong da = EmulatorFixture.Upload(device, a), db = EmulatorFixture.Upload(device, b), dc = EmulatorFixture.Upload(device, c);
        device.Sgemm(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc);
        float[] actual = EmulatorFixture.Download(device, dc, c.Length);
        for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
    }

    [Fact]
    public void Beta_zero_overwrites_C_even_when_it_holds_NaN_and_batches_use_their_strides()
    {
        using var device = EmulatorFixture.Open();
        const int m = 2, n = 3, k = 4, batches = 3;
        var rng = new Random(7);
        float[] a = Random(rng, m * k * batches), b = Random(rng, k * n * batches);
        ulong da = EmulatorFixture.Upload(device, a), db = EmulatorFixture.Upload(device, b);
        ulong dc = device.Allocate(m * n * batches * 4L); // fresh emulated memory is NaN
        device.SgemmStridedBatched(false, false, m, n, k, 1f, da, m, m * k, db, k, k * n, 0f, dc, m, m * n, batches);
        float[] c = EmulatorFixture.Download(device, dc, m * n * batches);
        for (int batch = 0; batch < batches; batch++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++) sum += (double)a[batch * m * k + i + p * m] * b[batch * k * n + p + j * k];
                    Assert.Equal((float)sum, c[batch * m * n + i + j * m], 1e-5f);
                }
    }

    [Fact]
    public void Invalid_leading_dimensions_and_short_buffers_are_reported_like_cuBLAS()
    {
        using var device = EmulatorFixture.Open();
        ulong a = device.Allocate(16 * 4), b = device.Allocate(16 * 4), c = device.Allocate(16 * 4);
        var e = Assert.Throws<CudaException>(() => device.Sgemm(false, false, 4, 4, 4, 1f, a, 3, b, 4, 0f, c, 4));
        Assert.Equal("CUBLAS_STATUS_INVALID_VALUE", e.ErrorName);
        Assert.Equal("cublasSgemm_v2", e.Call);
        var overrun = Assert.Throws<CudaException>(() => device.Sgemm(false, false, 4, 5, 4, 1f, a, 4, b, 4, 0f, c, 4));
        Assert.Contains("overrun", overrun.Message);
    }

    private static float[] Random(Random rng, int count) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
}
