using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    protected override void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y)
    {
        float* px = Ptr(x), py = Ptr(y);
        CpuParallel.ForElements(this, (int)x.ElementCount, (s, e) => ActivationKernels.Forward(kind, alpha, px + s, py + s, e - s));
    }

    /// <inheritdoc/>
    protected override void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX)
    {
        float* px = Ptr(x), py = Ptr(y), pdy = Ptr(gradY), pdx = Ptr(gradX);
        CpuParallel.ForElements(this, (int)x.ElementCount,
            (s, e) => ActivationKernels.Backward(kind, alpha, px + s, py + s, pdy + s, pdx + s, e - s));
    }
}
