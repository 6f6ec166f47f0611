namespace ConvNet.Gpu.Losses;

/// <summary>
/// Binary cross-entropy on logits, element by element, averaged over every element (PyTorch's
/// <c>BCEWithLogitsLoss</c>, Keras' <c>BinaryCrossentropy(from_logits=True)</c>): for logit z and target t in [0, 1],
/// loss = max(z, 0) - z t + log(1 + exp(-|z|)), the stable form of -(t log σ(z) + (1 - t) log(1 - σ(z))). The gradient is
/// (σ(z) - t) / count. For per-pixel binary segmentation: predictions (N, 1, H, W) against float masks of the same shape;
/// it serves any shape (multi-label vectors too).
/// </summary>
/// <remarks>
/// The sigmoid and the gradient are computed on the backend. The loss value is summed on the host in float64 from the
/// logits and targets (one download of each per call), which is also where targets outside [0, 1] are caught.
/// </remarks>
public sealed class BinaryCrossEntropyWithLogitsLoss : Loss
{
    private Tensor? _probabilities, _targets;
    private float[] _z = [], _t = [];

    /// <inheritdoc/>
    public override string Name => "binary_cross_entropy_with_logits";

    /// <summary>σ(z) of the last <see cref="Forward"/>, the shape of the predictions.</summary>
    public Tensor Probabilities => _probabilities ?? throw new InvalidOperationException($"{Name}: call Forward first.");

    /// <inheritdoc/>
    /// <exception cref="ShapeMismatchException">The targets are not float32 with the predictions' element count.</exception>
    /// <exception cref="ConvNetArgumentException">A target is outside [0, 1] (the message names the index and value).</exception>
    public override float Forward(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.DataType != DataType.Float32 || targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException(
                $"{Name}: targets must be Float32 with the predictions' {predictions.ElementCount} elements ({predictions.Shape}), got {targets}.");
        int count = checked((int)predictions.ElementCount);
        if (_z.Length != count)
        {
            _z = new float[count];
            _t = new float[count];
        }
        predictions.Download(_z);
        targets.Download(_t);
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            double z = _z[i], t = _t[i];
            if (!(t >= 0 && t <= 1))
                throw new ConvNetArgumentException($"{Name}: target {t} at flat index {i} of {targets.Shape} is outside [0, 1].", nameof(targets));
            sum += Math.Max(z, 0) - z * t + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }
        var b = predictions.Backend;
        _probabilities = Workspace.Get(b, "probabilities", predictions.Shape);
        b.ActivationForward(ActivationKind.Sigmoid, 0f, predictions, _probabilities);
        _targets = targets;
        return (float)(sum / count);
    }

    /// <inheritdoc/>
    public override Tensor Backward()
    {
        var p = Probabilities;
        var t = _targets!;
        var b = p.Backend;
        var grad = Workspace.Get(b, "grad", p.Shape);
        // (σ(z) - t) / count; t may have another shape with the same element count, so it is read through a view.
        b.Copy(p, grad);
        using var tView = t.Reshape(p.Shape);
        b.Axpy(-1f, tView, grad);
        b.Scale(grad, 1f / p.ElementCount, grad);
        return grad;
    }
}
