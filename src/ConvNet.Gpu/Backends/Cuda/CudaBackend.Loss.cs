using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Softmax and the classification losses (kernels/softmax_loss.cu). Row kernels give each row one block.
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void SoftmaxForwardCore(Tensor x, Tensor y)
    {
        int rows = x.Shape[0], classes = x.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(rows); args.Add(classes);
        LaunchItems(KernelNames.SoftmaxForward, rows, args);
    }

    /// <inheritdoc/>
    protected override void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX)
    {
        int rows = y.Shape[0], classes = y.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(y)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(gradX)); args.Add(rows); args.Add(classes);
        LaunchItems(KernelNames.SoftmaxBackward, rows, args);
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses) =>
        LaunchClassificationForward(logits, labels, probabilities, losses, focal: false, gamma: 0f);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale)
    {
        long total = probabilities.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(probabilities)); args.AddPointer(Ptr(labels)); args.AddPointer(Ptr(gradLogits));
        args.Add(total); args.Add(probabilities.Shape[1]); args.Add(scale);
        LaunchElements(KernelNames.SoftmaxCrossEntropyBackward, total, args);
    }

    /// <inheritdoc/>
    protected override void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses) =>
        LaunchClassificationForward(logits, labels, probabilities, losses, focal: true, gamma);

    /// <inheritdoc/>
    protected override void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale)
    {
        long total = probabilities.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(probabilities)); args.AddPointer(Ptr(labels)); args.AddPointer(Ptr(gradLogits));
        args.Add(total); args.Add(probabilities.Shape[1]); args.Add(gamma); args.Add(scale);
        LaunchElements(KernelNames.FocalLossBackward, total, args);
    }

    private void LaunchClassificationForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses, bool focal, float gamma)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(logits)); args.AddPointer(Ptr(labels)); args.AddPointer(Ptr(probabilities)); args.AddPointer(Ptr(losses));
        args.Add(rows); args.Add(classes); args.Add(focal ? 1 : 0); args.Add(gamma);
        LaunchItems(KernelNames.SoftmaxCrossEntropyForward, rows, args);
    }
}
