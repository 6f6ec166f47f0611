using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Optimizer steps (kernels/optimizer.cu), one thread per parameter.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum,
        float weightDecay, bool nesterov)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(param)); args.AddPointer(Ptr(grad)); args.AddPointer(Ptr(velocity)); args.Add(param.ElementCount);
        args.Add(learningRate); args.Add(momentum); args.Add(weightDecay); args.Add(nesterov ? 1 : 0);
        LaunchElements(KernelNames.SgdStep, param.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1,
        float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, int step)
    {
        // Bias corrections 1 - beta^t in double on the host: float powers lose digits for large t.
        float biasCorrection1 = (float)(1.0 - Math.Pow(beta1, step));
        float biasCorrection2 = (float)(1.0 - Math.Pow(beta2, step));
        var args = new KernelArgs();
        args.AddPointer(Ptr(param)); args.AddPointer(Ptr(grad)); args.AddPointer(Ptr(m)); args.AddPointer(Ptr(v));
        args.Add(param.ElementCount); args.Add(learningRate); args.Add(beta1); args.Add(beta2); args.Add(epsilon);
        args.Add(weightDecay); args.Add(decoupledWeightDecay ? 1 : 0); args.Add(biasCorrection1); args.Add(biasCorrection2);
        LaunchElements(KernelNames.AdamStep, param.ElementCount, args);
    }
}
