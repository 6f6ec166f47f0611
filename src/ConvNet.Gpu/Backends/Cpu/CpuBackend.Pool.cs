namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void MaxPool2dForwardCore(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.MaxPool2dForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void MaxPool2dBackwardCore(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.MaxPool2dBackward is not implemented yet.");

    /// <inheritdoc/>
    protected override void AvgPool2dForwardCore(Tensor input, Tensor output, Pool2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.AvgPool2dForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void AvgPool2dBackwardCore(Tensor gradOutput, Tensor gradInput, Pool2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.AvgPool2dBackward is not implemented yet.");

    /// <inheritdoc/>
    protected override void UpsampleNearest2dForwardCore(Tensor input, Tensor output, int scaleH, int scaleW) =>
        throw new NotImplementedException("CpuBackend.UpsampleNearest2dForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void UpsampleNearest2dBackwardCore(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW) =>
        throw new NotImplementedException("CpuBackend.UpsampleNearest2dBackward is not implemented yet.");
}
