using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Softmax and the classification losses (kernels/softmax_loss.cu). Rows of up to GroupRowLimit classes get one warp each
// (butterfly shuffles, blockDim/32 rows per block at once); longer rows, or blocks under 32 threads, one block each. The
// training step's loss, gradient, predictions and metrics are one single-block kernel (cn_classify_step).
public sealed partial class CudaBackend
{
    /// <summary>Longest row handled by one warp: 32 elements per lane.</summary>
    private const int GroupRowLimit = 1024;

    /// <summary>Whether rows of <paramref name="classes"/> go one per warp (else one per block).</summary>
    private bool RowsPerGroup(int classes) => classes <= GroupRowLimit && Options.BlockSize >= 32;

    /// <summary>Blocks for <paramref name="rows"/> rows at one row per warp.</summary>
    private long RowGroupBlocks(int rows) => (rows + Options.BlockSize / 32 - 1) / (Options.BlockSize / 32);

    /// <inheritdoc/>
    protected override void SoftmaxForwardCore(Tensor x, Tensor y)
    {
        int rows = x.Shape[0], classes = x.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(rows); args.Add(classes);
        if (RowsPerGroup(classes)) LaunchItems(KernelNames.SoftmaxForwardRows, RowGroupBlocks(rows), args);
        else LaunchItems(KernelNames.SoftmaxForward, rows, args);
    }

    /// <inheritdoc/>
    protected override void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX)
    {
        int rows = y.Shape[0], classes = y.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(y)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(gradX)); args.Add(rows); args.Add(classes);
        if (RowsPerGroup(classes)) LaunchItems(KernelNames.SoftmaxBackwardRows, RowGroupBlocks(rows), args);
        else LaunchItems(KernelNames.SoftmaxBackward, rows, args);
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

    /// <inheritdoc/>
    protected override void ClassificationStepCore(Tensor logits, Tensor labels, ClassificationLossKind loss, float gamma,
        Tensor probabilities, Tensor losses, Tensor predictions, Tensor? gradLogits, ClassificationMetrics metrics, ClassificationStepMode mode)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        ulong buffer = Ptr(metrics.Buffer);
        var args = new KernelArgs();
        args.AddPointer(Ptr(logits)); args.AddPointer(Ptr(labels)); args.AddPointer(Ptr(probabilities)); args.AddPointer(Ptr(losses));
        args.AddPointer(Ptr(predictions)); args.AddPointer(gradLogits is null ? 0 : Ptr(gradLogits));
        args.Add(rows); args.Add(classes); args.Add(loss == ClassificationLossKind.Focal ? 1 : 0); args.Add(gamma); args.Add(1f / rows);
        args.AddPointer(buffer); args.AddPointer(buffer + ClassificationMetrics.LossSumWord * 4UL); args.Add(metrics.Capacity);
        args.Add((int)mode);
        // One block (of at least a warp): the batch's metrics are reduced in the same launch, in a fixed order.
        _device.Launch(Kernel(KernelNames.ClassifyStep), 1, Math.Max(32, Options.BlockSize), 0, args);
    }

    private void LaunchClassificationForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses, bool focal, float gamma)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        var args = new KernelArgs();
        args.AddPointer(Ptr(logits)); args.AddPointer(Ptr(labels)); args.AddPointer(Ptr(probabilities)); args.AddPointer(Ptr(losses));
        args.Add(rows); args.Add(classes); args.Add(focal ? 1 : 0); args.Add(gamma);
        if (RowsPerGroup(classes)) LaunchItems(KernelNames.SoftmaxCrossEntropyForwardRows, RowGroupBlocks(rows), args);
        else LaunchItems(KernelNames.SoftmaxCrossEntropyForward, rows, args);
    }
}
