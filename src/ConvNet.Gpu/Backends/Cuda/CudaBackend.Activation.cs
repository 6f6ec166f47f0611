using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Point-wise activations (kernels/activation.cu); the kernel's `kind` is the ActivationKind value.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(x.ElementCount); args.Add((int)kind); args.Add(alpha);
        LaunchElements(KernelNames.ActivationForward, x.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(gradX));
        args.Add(x.ElementCount); args.Add((int)kind); args.Add(alpha);
        LaunchElements(KernelNames.ActivationBackward, x.ElementCount, args);
    }
}
