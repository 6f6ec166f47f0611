namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset) =>
        throw new NotImplementedException("CpuBackend.DropoutForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void AddCore(Tensor a, Tensor b, Tensor y) =>
        throw new NotImplementedException("CpuBackend.Add is not implemented yet.");

    /// <inheritdoc/>
    protected override void MulCore(Tensor a, Tensor b, Tensor y) =>
        throw new NotImplementedException("CpuBackend.Mul is not implemented yet.");

    /// <inheritdoc/>
    protected override void ScaleCore(Tensor x, float alpha, Tensor y) =>
        throw new NotImplementedException("CpuBackend.Scale is not implemented yet.");

    /// <inheritdoc/>
    protected override void AxpyCore(float alpha, Tensor x, Tensor y) =>
        throw new NotImplementedException("CpuBackend.Axpy is not implemented yet.");

    /// <inheritdoc/>
    protected override void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y) =>
        throw new NotImplementedException("CpuBackend.ChannelAffine is not implemented yet.");

    /// <inheritdoc/>
    protected override void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate) =>
        throw new NotImplementedException("CpuBackend.ReduceSum is not implemented yet.");
}
