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
        LaunchElements(CudaKernels.ActivationForward(x, y, n, (int)kind, alpha), n);
    }

    /// <inheritdoc/>
    protected override void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX)
    {
        LaunchElements(CudaKernels.ActivationBackward(Ptr(x), Ptr(y), Ptr(gradY), Ptr(gradX), x.ElementCount, (int)kind, alpha),
            x.ElementCount);
    }
}
