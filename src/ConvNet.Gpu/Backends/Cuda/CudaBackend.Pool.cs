using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Pooling and nearest upsampling (kernels/pooling.cu, kernels/upsample.cu). Forward kernels run one thread per
// output element; backward kernels one thread per input element that gathers from the windows covering it.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void MaxPool2dForwardCore(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry g)
    {
        long total = output.ElementCount;
        LaunchElements(CudaKernels.MaxPoolForward(Ptr(input), Ptr(output), Ptr(argmax), total, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadH, g.PadW, g.OH, g.OW), total);
    }

    /// <inheritdoc/>
    protected override void MaxPool2dBackwardCore(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry g)
    {
        long total = gradInput.ElementCount;
        LaunchElements(CudaKernels.MaxPoolBackward(Ptr(gradOutput), Ptr(argmax), Ptr(gradInput), total, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadH, g.PadW, g.OH, g.OW), total);
    }

    /// <inheritdoc/>
    protected override void AvgPool2dForwardCore(Tensor input, Tensor output, Pool2dGeometry g)
    {
        long total = output.ElementCount;
        LaunchElements(CudaKernels.AvgPoolForward(Ptr(input), Ptr(output), total, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadH, g.PadW, g.OH, g.OW,
            g.CountIncludePadding ? 1 : 0), total);
    }

    /// <inheritdoc/>
    protected override void AvgPool2dBackwardCore(Tensor gradOutput, Tensor gradInput, Pool2dGeometry g)
    {
        long total = gradInput.ElementCount;
        LaunchElements(CudaKernels.AvgPoolBackward(Ptr(gradOutput), Ptr(gradInput), total, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadH, g.PadW, g.OH, g.OW,
            g.CountIncludePadding ? 1 : 0), total);
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dForwardCore(Tensor input, Tensor output, int scaleH, int scaleW)
    {
        long total = output.ElementCount;
        LaunchElements(CudaKernels.UpsampleNearestForward(Ptr(input), Ptr(output), total, input.Shape[2], input.Shape[3], scaleH, scaleW),
            total);
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dBackwardCore(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW)
    {
        long total = gradInput.ElementCount;
        LaunchElements(CudaKernels.UpsampleNearestBackward(Ptr(gradOutput), Ptr(gradInput), total, gradInput.Shape[2], gradInput.Shape[3],
            scaleH, scaleW), total);
    }
}
