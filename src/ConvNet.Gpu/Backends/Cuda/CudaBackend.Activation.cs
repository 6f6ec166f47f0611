using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Point-wise activations (kernels/activation.cu); the kernel's `kind` is the ActivationKind value.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y) =>
        LaunchActivationForward(Ptr(x), Ptr(y), x.ElementCount, kind, alpha);

    /// <summary>y = f(x) over <paramref name="n"/> elements; y may be x (in place).</summary>
    private void LaunchActivationForward(ulong x, ulong y, long n, ActivationKind kind, float alpha)
    {
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(y); args.Add(n); args.Add((int)kind); args.Add(alpha);
        LaunchElements(KernelNames.ActivationForward, n, args);
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
