namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov) =>
        throw new NotImplementedException("CpuBackend.SgdStep is not implemented yet.");

    /// <inheritdoc/>
    protected override void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, int step) =>
        throw new NotImplementedException("CpuBackend.AdamStep is not implemented yet.");
}
