namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean, Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon) =>
        throw new NotImplementedException("CpuBackend.BatchNorm2dForwardTraining is not implemented yet.");

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float epsilon, Tensor y) =>
        throw new NotImplementedException("CpuBackend.BatchNorm2dForwardInference is not implemented yet.");

    /// <inheritdoc/>
    protected override void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate) =>
        throw new NotImplementedException("CpuBackend.BatchNorm2dBackward is not implemented yet.");
}
