using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Batch normalization (kernels/batchnorm.cu): training passes give each channel one block with a deterministic
// tree reduction; inference is one thread per element.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean,
        Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon)
    {
        int n = x.Shape[0], c = x.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(beta)); args.AddPointer(Ptr(y));
        args.AddPointer(Ptr(saveMean)); args.AddPointer(Ptr(saveInvStd)); args.AddPointer(Ptr(runningMean)); args.AddPointer(Ptr(runningVar));
        args.Add(n); args.Add(c); args.Add(x.ElementCount / ((long)n * c)); args.Add(momentum); args.Add(epsilon);
        LaunchItems(KernelNames.BatchNormForwardTraining, c, args);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y)
    {
        int n = x.Shape[0], c = x.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(beta));
        args.AddPointer(Ptr(runningMean)); args.AddPointer(Ptr(runningVar)); args.AddPointer(Ptr(y));
        args.Add(x.ElementCount); args.Add(c); args.Add(x.ElementCount / ((long)n * c)); args.Add(epsilon);
        LaunchElements(KernelNames.BatchNormForwardInference, x.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate)
    {
        int n = x.Shape[0], c = x.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(saveMean));
        args.AddPointer(Ptr(saveInvStd)); args.AddPointer(Ptr(gradX)); args.AddPointer(Ptr(gradGamma)); args.AddPointer(Ptr(gradBeta));
        args.Add(n); args.Add(c); args.Add(x.ElementCount / ((long)n * c)); args.Add(accumulate ? 1 : 0);
        LaunchItems(KernelNames.BatchNormBackward, c, args);
    }
}
