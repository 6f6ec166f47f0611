using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Row-major SGEMM on raw pointers with explicit leading dimensions (see <see cref="PackedSgemm"/>): the entry point for
    /// code outside the backend's tensor ops, such as the emulated cuBLAS. <paramref name="par"/> null runs on the calling thread.
    /// </summary>
    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? par) =>
        PackedSgemm.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, par);

    /// <summary>
    /// <paramref name="batch"/> row-major SGEMMs as in <see cref="Sgemm"/>, matrix i at a + i*strideA, b + i*strideB,
    /// c + i*strideC (element strides; 0 reuses one matrix). Small matrices run one whole GEMM per thread.
    /// </summary>
    internal static void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC,
        int batch, ParallelOptions? par) =>
        PackedSgemm.RunStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch, par);

    /// <inheritdoc/>
    protected override void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) =>
        PackedSgemm.Run(transA, transB, m, n, k, alpha,
            Ptr(a), transA ? m : k, Ptr(b), transB ? k : n, beta, Ptr(c), n, Parallelism);

    /// <inheritdoc/>
    protected override void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount) =>
        PackedSgemm.RunStridedBatched(transA, transB, m, n, k, alpha,
            Ptr(a), transA ? m : k, strideA, Ptr(b), transB ? k : n, strideB, beta, Ptr(c), n, strideC, batchCount, Parallelism);
}
