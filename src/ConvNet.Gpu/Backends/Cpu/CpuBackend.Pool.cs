using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Every pooling op works plane by plane: a plane is one (n, c) pair, H*W input elements and OH*OW outputs.
    // Planes are independent, so they are split across threads; inside a plane the order is fixed (row-major),
    // which keeps results bit-identical across runs and thread counts. Backward passes are gathers: each input
    // element sums, in row-major window order, the windows that contain it, exactly like the CUDA kernels.

    /// <inheritdoc/>
    protected override void MaxPool2dForwardCore(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry g)
    {
        float* x = Ptr(input);
        float* y = Ptr(output);
        int* a = IntPtr(argmax);
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        var windows = PoolWindows.Create(g);
        CpuParallel.For(this, g.N * g.C, inPlane + (long)outPlane * g.KH * g.KW, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                MaxPoolKernels.MaxForwardPlane(x + (long)p * inPlane, y + (long)p * outPlane, a + (long)p * outPlane, g, windows);
        });
    }

    /// <inheritdoc/>
    protected override void MaxPool2dBackwardCore(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry g)
    {
        float* dy = Ptr(gradOutput);
        int* a = IntPtr(argmax);
        float* dx = Ptr(gradInput);
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        var windows = PoolWindows.Create(g);
        CpuParallel.For(this, g.N * g.C, inPlane + (long)outPlane, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                MaxPoolKernels.MaxBackwardPlane(dy + (long)p * outPlane, a + (long)p * outPlane, dx + (long)p * inPlane, g, windows);
        });
    }

    /// <inheritdoc/>
    protected override void AvgPool2dForwardCore(Tensor input, Tensor output, Pool2dGeometry g)
    {
        float* x = Ptr(input);
        float* y = Ptr(output);
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        var windows = PoolWindows.Create(g);
        CpuParallel.For(this, g.N * g.C, inPlane + (long)outPlane * g.KH * g.KW, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                AvgPoolKernels.AvgForwardPlane(x + (long)p * inPlane, y + (long)p * outPlane, g, windows);
        });
    }

    /// <inheritdoc/>
    protected override void AvgPool2dBackwardCore(Tensor gradOutput, Tensor gradInput, Pool2dGeometry g)
    {
        float* dy = Ptr(gradOutput);
        float* dx = Ptr(gradInput);
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        var windows = PoolWindows.Create(g);
        CpuParallel.For(this, g.N * g.C, inPlane + (long)outPlane, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                AvgPoolKernels.AvgBackwardPlane(dy + (long)p * outPlane, dx + (long)p * inPlane, g, windows);
        });
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dForwardCore(Tensor input, Tensor output, int scaleH, int scaleW)
    {
        var s = input.Shape;
        int h = s[2], w = s[3];
        float* x = Ptr(input);
        float* y = Ptr(output);
        int inPlane = h * w, outPlane = inPlane * scaleH * scaleW;
        CpuParallel.For(this, s[0] * s[1], inPlane + (long)outPlane, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                UpsampleKernels.UpsampleForwardPlane(x + (long)p * inPlane, y + (long)p * outPlane, h, w, scaleH, scaleW);
        });
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dBackwardCore(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW)
    {
        var s = gradInput.Shape;
        int h = s[2], w = s[3];
        float* dy = Ptr(gradOutput);
        float* dx = Ptr(gradInput);
        int inPlane = h * w, outPlane = inPlane * scaleH * scaleW;
        CpuParallel.For(this, s[0] * s[1], inPlane + (long)outPlane, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
                UpsampleKernels.UpsampleBackwardPlane(dy + (long)p * outPlane, dx + (long)p * inPlane, h, w, scaleH, scaleW);
        });
    }
}
