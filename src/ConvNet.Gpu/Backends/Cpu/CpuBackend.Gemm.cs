using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) =>
        Sgemm.Run(transA, transB, m, n, k, alpha,
            Ptr(a), transA ? m : k, Ptr(b), transB ? k : n, beta, Ptr(c), n, Parallelism);

    /// <inheritdoc/>
    protected override void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount) =>
        Sgemm.RunStridedBatched(transA, transB, m, n, k, alpha,
            Ptr(a), transA ? m : k, strideA, Ptr(b), transB ? k : n, strideB, beta, Ptr(c), n, strideC, batchCount, Parallelism);
}
