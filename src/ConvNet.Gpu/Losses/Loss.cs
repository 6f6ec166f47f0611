using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Losses;

/// <summary>
/// A loss function computed through backend ops. <see cref="Forward"/> returns the mean loss over the batch and
/// keeps what <see cref="Backward"/> needs; Backward returns dLoss/dPredictions (same shape as the predictions),
/// in a buffer the loss owns and reuses.
/// </summary>
public abstract class Loss : IDisposable
{
    /// <summary>Reusable buffers.</summary>
    internal Workspace Workspace { get; } = new();

    /// <summary>Short name, e.g. "softmax_cross_entropy".</summary>
    public abstract string Name { get; }

    /// <summary>The mean loss of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    public abstract float Forward(Tensor predictions, Tensor targets);

    /// <summary>The gradient of the last <see cref="Forward"/>'s mean loss with respect to its predictions.</summary>
    public abstract Tensor Backward();

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        Workspace.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Sums host values in double (deterministic order) and returns their mean as float.</summary>
    protected static float Mean(ReadOnlySpan<float> values)
    {
        double s = 0;
        foreach (float v in values) s += v;
        return (float)(s / values.Length);
    }
}

/// <summary>
/// A classification loss over logits (N, classes) and int32 index labels (N); it also exposes the softmax
/// probabilities of the last forward pass (for accuracy).
/// </summary>
public abstract class ClassificationLoss : Loss
{
    private Tensor? _probabilities, _labels;

    /// <summary>Softmax of the logits of the last <see cref="Loss.Forward"/>, (N, classes).</summary>
    public Tensor Probabilities => _probabilities ?? throw new InvalidOperationException($"{Name}: call Forward first.");

    /// <summary>Per-sample losses of the last forward pass (host copy).</summary>
    public float[] SampleLosses { get; private set; } = [];

    /// <summary>The labels of the last forward pass.</summary>
    protected Tensor Labels => _labels ?? throw new InvalidOperationException($"{Name}: call Forward first.");

    /// <inheritdoc/>
    public sealed override float Forward(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (predictions.Rank != 2)
            throw new ShapeMismatchException($"{Name}: expected logits (N, classes), got {predictions.Shape}.");
        if (targets.DataType != DataType.Int32 || targets.ElementCount != predictions.Shape[0])
            throw new ShapeMismatchException($"{Name}: expected {predictions.Shape[0]} int32 labels for logits {predictions.Shape}, got {targets} ");
        var backend = predictions.Backend;
        _probabilities = Workspace.Get(backend, "probabilities", predictions.Shape);
        var losses = Workspace.Get(backend, "losses", TensorShape.Vector(predictions.Shape[0]));
        ComputeLosses(predictions, targets, _probabilities, losses);
        _labels = targets;
        var host = SampleLosses.Length == losses.ElementCount ? SampleLosses : new float[losses.ElementCount];
        losses.Download(host);
        SampleLosses = host;
        return Mean(host);
    }

    /// <inheritdoc/>
    public sealed override Tensor Backward()
    {
        var p = Probabilities;
        var grad = Workspace.Get(p.Backend, "grad", p.Shape);
        ComputeGradient(p, Labels, grad, 1f / p.Shape[0]);
        return grad;
    }

    /// <summary>Writes the softmax and the per-sample losses.</summary>
    protected abstract void ComputeLosses(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses);

    /// <summary>Writes scale * dLoss/dLogits summed over the batch.</summary>
    protected abstract void ComputeGradient(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale);
}

/// <summary>Softmax cross-entropy with index labels, averaged over the batch: mean of logsumexp(z) - z[label].</summary>
public sealed class SoftmaxCrossEntropyLoss : ClassificationLoss
{
    /// <inheritdoc/>
    public override string Name => "softmax_cross_entropy";

    /// <inheritdoc/>
    protected override void ComputeLosses(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses) =>
        logits.Backend.SoftmaxCrossEntropyForward(logits, labels, probabilities, losses);

    /// <inheritdoc/>
    protected override void ComputeGradient(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale) =>
        probabilities.Backend.SoftmaxCrossEntropyBackward(probabilities, labels, gradLogits, scale);
}

/// <summary>
/// Focal loss (Lin et al. 2017), averaged over the batch: -(1 - p_t)^gamma * log(p_t). It down-weights easy examples;
/// gamma = 0 is cross-entropy.
/// </summary>
public sealed class FocalLoss : ClassificationLoss
{
    /// <summary>Creates the loss with focusing parameter <paramref name="gamma"/> (≥ 0, default 2).</summary>
    public FocalLoss(float gamma = 2f)
    {
        if (!(gamma >= 0f) || !float.IsFinite(gamma))
            throw new ConvNetArgumentException($"Focal loss gamma must be finite and >= 0, got {gamma}.", nameof(gamma));
        Gamma = gamma;
    }

    /// <summary>The focusing parameter.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public override string Name => "focal";

    /// <inheritdoc/>
    protected override void ComputeLosses(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses) =>
        logits.Backend.FocalLossForward(logits, labels, Gamma, probabilities, losses);

    /// <inheritdoc/>
    protected override void ComputeGradient(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale) =>
        probabilities.Backend.FocalLossBackward(probabilities, labels, Gamma, gradLogits, scale);
}

/// <summary>Mean squared error over every element: mean((prediction - target)^2); gradient 2*(prediction - target)/count.</summary>
public sealed class MeanSquaredErrorLoss : Loss
{
    private Tensor? _diff;

    /// <inheritdoc/>
    public override string Name => "mse";

    /// <inheritdoc/>
    public override float Forward(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.DataType != DataType.Float32 || targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException($"mse: targets must be Float32 with the predictions' {predictions.ElementCount} elements ({predictions.Shape}), got {targets}.");
        var b = predictions.Backend;
        var diff = Workspace.Get(b, "diff", predictions.Shape);
        b.Copy(predictions, diff);
        b.Axpy(-1f, targets, diff);
        var squared = Workspace.Get(b, "squared", predictions.Shape);
        b.Mul(diff, diff, squared);
        var sum = Workspace.Get(b, "sum", TensorShape.Vector(1));
        b.ReduceSum(squared, sum, 1, (int)predictions.ElementCount, 1, accumulate: false);
        Span<float> host = stackalloc float[1];
        sum.Download(host);
        _diff = diff;
        return host[0] / predictions.ElementCount;
    }

    /// <inheritdoc/>
    public override Tensor Backward()
    {
        var diff = _diff ?? throw new InvalidOperationException("mse: call Forward first.");
        var grad = Workspace.Get(diff.Backend, "grad", diff.Shape);
        diff.Backend.Scale(diff, 2f / diff.ElementCount, grad);
        return grad;
    }
}
