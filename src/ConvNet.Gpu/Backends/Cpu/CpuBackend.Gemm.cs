namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) =>
        throw new NotImplementedException("CpuBackend.Gemm is not implemented yet.");

    /// <inheritdoc/>
    protected override void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount) =>
        throw new NotImplementedException("CpuBackend.GemmStridedBatched is not implemented yet.");
}
