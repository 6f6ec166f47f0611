namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void Im2ColCore(Tensor input, Tensor columns, Conv2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.Im2Col is not implemented yet.");

    /// <inheritdoc/>
    protected override void Col2ImCore(Tensor columns, Tensor input, Conv2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.Col2Im is not implemented yet.");

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.Conv2dForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g) =>
        throw new NotImplementedException("CpuBackend.Conv2dBackwardData is not implemented yet.");

    /// <inheritdoc/>
    protected override void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate) =>
        throw new NotImplementedException("CpuBackend.Conv2dBackwardWeights is not implemented yet.");

    /// <inheritdoc/>
    protected override void BiasAddCore(Tensor output, Tensor bias) =>
        throw new NotImplementedException("CpuBackend.BiasAdd is not implemented yet.");

    /// <inheritdoc/>
    protected override void BiasGradientCore(Tensor gradOutput, Tensor gradBias, bool accumulate) =>
        throw new NotImplementedException("CpuBackend.BiasGradient is not implemented yet.");
}
