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
        if (RowsPerGroup(classes)) LaunchItems(CudaKernels.SoftmaxForwardRows(Ptr(x), Ptr(y), rows, classes), RowGroupBlocks(rows));
        else LaunchItems(CudaKernels.SoftmaxForward(Ptr(x), Ptr(y), rows, classes), rows);
    }

    /// <inheritdoc/>
    protected override void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX)
    {
        int rows = y.Shape[0], classes = y.Shape[1];
        if (RowsPerGroup(classes))
            LaunchItems(CudaKernels.SoftmaxBackwardRows(Ptr(y), Ptr(gradY), Ptr(gradX), rows, classes), RowGroupBlocks(rows));
        else LaunchItems(CudaKernels.SoftmaxBackward(Ptr(y), Ptr(gradY), Ptr(gradX), rows, classes), rows);
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses) =>
        LaunchClassificationForward(logits, labels, probabilities, losses, focal: false, gamma: 0f);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale)
    {
        long total = probabilities.ElementCount;
        LaunchElements(CudaKernels.SoftmaxCrossEntropyBackward(Ptr(probabilities), Ptr(labels), Ptr(gradLogits), total,
            probabilities.Shape[1], scale), total);
    }

    /// <inheritdoc/>
    protected override void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses) =>
        LaunchClassificationForward(logits, labels, probabilities, losses, focal: true, gamma);

    /// <inheritdoc/>
    protected override void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale)
    {
        long total = probabilities.ElementCount;
        LaunchElements(CudaKernels.FocalLossBackward(Ptr(probabilities), Ptr(labels), Ptr(gradLogits), total, probabilities.Shape[1],
            gamma, scale), total);
    }

    /// <inheritdoc/>
    protected override void ClassificationStepCore(Tensor logits, Tensor labels, ClassificationLossKind loss, float gamma,
        Tensor probabilities, Tensor losses, Tensor predictions, Tensor? gradLogits, ClassificationMetrics metrics, ClassificationStepMode mode)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        ulong buffer = Ptr(metrics.Buffer);
        var call = CudaKernels.ClassifyStep(Ptr(logits), Ptr(labels), Ptr(probabilities), Ptr(losses), Ptr(predictions),
            gradLogits is null ? 0 : Ptr(gradLogits), rows, classes, loss == ClassificationLossKind.Focal ? 1 : 0, gamma, 1f / rows,
            buffer, buffer + ClassificationMetrics.LossSumWord * 4UL, metrics.Capacity, (int)mode);
        // One block (of at least a warp): the batch's metrics are reduced in the same launch, in a fixed order.
        Launch(call, 1, Math.Max(32, Options.BlockSize));
    }

    private void LaunchClassificationForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses, bool focal, float gamma)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        ulong x = Ptr(logits), t = Ptr(labels), p = Ptr(probabilities), l = Ptr(losses);
        if (RowsPerGroup(classes))
            LaunchItems(CudaKernels.SoftmaxCrossEntropyForwardRows(x, t, p, l, rows, classes, focal ? 1 : 0, gamma), RowGroupBlocks(rows));
        else LaunchItems(CudaKernels.SoftmaxCrossEntropyForward(x, t, p, l, rows, classes, focal ? 1 : 0, gamma), rows);
    }
}
