namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y) =>
        throw new NotImplementedException("CpuBackend.ActivationForward is not implemented yet.");

    /// <inheritdoc/>
    protected override void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX) =>
        throw new NotImplementedException("CpuBackend.ActivationBackward is not implemented yet.");
}
