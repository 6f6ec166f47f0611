using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov)
    {
        float* p = Ptr(param), g = Ptr(grad), v = Ptr(velocity);
        CpuParallel.ForElements(this, (int)param.ElementCount,
            (s, e) => OptimizerKernels.Sgd(p + s, g + s, v + s, e - s, learningRate, momentum, weightDecay, nesterov));
    }

    /// <inheritdoc/>
    protected override void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, int step)
    {
        // Bias corrections in float64 from the step count, as PyTorch does on the host.
        double bc1 = 1.0 - Math.Pow(beta1, step);
        double bc2 = 1.0 - Math.Pow(beta2, step);
        float stepSize = (float)(learningRate / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float* p = Ptr(param), g = Ptr(grad), pm = Ptr(m), pv = Ptr(v);
        CpuParallel.ForElements(this, (int)param.ElementCount,
            (s, e) => OptimizerKernels.Adam(p + s, g + s, pm + s, pv + s, e - s, learningRate, beta1, beta2, epsilon,
                weightDecay, decoupledWeightDecay, stepSize, bc2Sqrt));
    }
}
