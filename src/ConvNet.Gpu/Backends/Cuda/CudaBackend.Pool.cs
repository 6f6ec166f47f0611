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
        var args = new KernelArgs();
        args.AddPointer(Ptr(input)); args.AddPointer(Ptr(output)); args.AddPointer(Ptr(argmax)); args.Add(total);
        AddPoolGeometry(ref args, g);
        LaunchElements(KernelNames.MaxPoolForward, total, args);
    }

    /// <inheritdoc/>
    protected override void MaxPool2dBackwardCore(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry g)
    {
        long total = gradInput.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(gradOutput)); args.AddPointer(Ptr(argmax)); args.AddPointer(Ptr(gradInput)); args.Add(total);
        AddPoolGeometry(ref args, g);
        LaunchElements(KernelNames.MaxPoolBackward, total, args);
    }

    /// <inheritdoc/>
    protected override void AvgPool2dForwardCore(Tensor input, Tensor output, Pool2dGeometry g)
    {
        long total = output.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(input)); args.AddPointer(Ptr(output)); args.Add(total);
        AddPoolGeometry(ref args, g);
        args.Add(g.CountIncludePadding ? 1 : 0);
        LaunchElements(KernelNames.AvgPoolForward, total, args);
    }

    /// <inheritdoc/>
    protected override void AvgPool2dBackwardCore(Tensor gradOutput, Tensor gradInput, Pool2dGeometry g)
    {
        long total = gradInput.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(gradOutput)); args.AddPointer(Ptr(gradInput)); args.Add(total);
        AddPoolGeometry(ref args, g);
        args.Add(g.CountIncludePadding ? 1 : 0);
        LaunchElements(KernelNames.AvgPoolBackward, total, args);
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dForwardCore(Tensor input, Tensor output, int scaleH, int scaleW)
    {
        long total = output.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(input)); args.AddPointer(Ptr(output)); args.Add(total);
        args.Add(input.Shape[2]); args.Add(input.Shape[3]); args.Add(scaleH); args.Add(scaleW);
        LaunchElements(KernelNames.UpsampleNearestForward, total, args);
    }

    /// <inheritdoc/>
    protected override void UpsampleNearest2dBackwardCore(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW)
    {
        long total = gradInput.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(gradOutput)); args.AddPointer(Ptr(gradInput)); args.Add(total);
        args.Add(gradInput.Shape[2]); args.Add(gradInput.Shape[3]); args.Add(scaleH); args.Add(scaleW);
        LaunchElements(KernelNames.UpsampleNearestBackward, total, args);
    }

    // H, W, KH, KW, SH, SW, PH, PW, OH, OW: the geometry parameters shared by the pooling kernels.
    private static void AddPoolGeometry(ref KernelArgs args, Pool2dGeometry g)
    {
        args.Add(g.H); args.Add(g.W); args.Add(g.KH); args.Add(g.KW); args.Add(g.SH); args.Add(g.SW);
        args.Add(g.PadH); args.Add(g.PadW); args.Add(g.OH); args.Add(g.OW);
    }
}
