namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void SoftmaxForwardCore(Tensor x, Tensor y) =>
        throw new NotImplementedException("CpuBackend.SoftmaxForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX) =>
        throw new NotImplementedException("CpuBackend.SoftmaxBackward is not implemented yet.");

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses) =>
        throw new NotImplementedException("CpuBackend.SoftmaxCrossEntropyForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale) =>
        throw new NotImplementedException("CpuBackend.SoftmaxCrossEntropyBackward is not implemented yet.");

    /// <inheritdoc/>
    protected override void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses) =>
        throw new NotImplementedException("CpuBackend.FocalLossForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale) =>
        throw new NotImplementedException("CpuBackend.FocalLossBackward is not implemented yet.");
}
