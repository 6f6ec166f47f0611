namespace ConvNet.Gpu.Losses;

/// <summary>
/// Base of the losses that compare predictions and float targets element by element and average over every element
/// (L1, Huber): it checks the targets, forms the difference d = prediction − target on the backend, lets the loss turn
/// d into per-element values and the gradient factor, and sums on the backend (one fixed-order reduction, one scalar
/// downloaded per call).
/// </summary>
public abstract class ElementwiseLoss : Loss
{
    private Tensor? _gradient;

    /// <inheritdoc/>
    /// <exception cref="ShapeMismatchException">The targets are not float32 with the predictions' element count.</exception>
    public sealed override float Forward(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.DataType != DataType.Float32 || targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException(
                $"{Name}: targets must be Float32 with the predictions' {predictions.ElementCount} elements ({predictions.Shape}), got {targets}.");
        var b = predictions.Backend;
        var shape = TensorShape.Vector(checked((int)predictions.ElementCount));
        using var p = predictions.Reshape(shape);
        using var t = targets.Reshape(shape);
        var diff = Workspace.Get(b, "diff", shape);
        b.Copy(p, diff);
        b.Axpy(-1f, t, diff);
        var values = Workspace.Get(b, "values", shape);
        var gradient = Workspace.Get(b, "grad", predictions.Shape);
        using var g = gradient.Reshape(shape);
        Compute(diff, values, g);
        var sum = Workspace.Get(b, "sum", TensorShape.Vector(1));
        b.ReduceSum(values, sum, 1, shape[0], 1, accumulate: false);
        Span<float> host = stackalloc float[1];
        sum.Download(host);
        // The gradient of the mean: the per-element derivative over the element count.
        b.Scale(g, 1f / shape[0], g);
        _gradient = gradient;
        return host[0] / shape[0];
    }

    /// <inheritdoc/>
    public sealed override Tensor Backward() => _gradient ?? throw new InvalidOperationException($"{Name}: call Forward first.");

    /// <summary>
    /// Writes, for every element of the difference <paramref name="diff"/> (prediction − target, a vector), the loss
    /// value into <paramref name="values"/> and its derivative with respect to the prediction into <paramref name="derivative"/>.
    /// </summary>
    protected abstract void Compute(Tensor diff, Tensor values, Tensor derivative);

    /// <summary>A (count, 1) view of <paramref name="x"/> so a one-element scale and shift apply to every element through ChannelAffine.</summary>
    private protected static Tensor Column(Tensor x) => x.Reshape(TensorShape.Matrix((int)x.ElementCount, 1));
}

/// <summary>
/// Mean absolute error (PyTorch's <c>L1Loss</c>): mean |prediction − target| over every element; the gradient is
/// sign(prediction − target) / count, with sign(0) = 0.
/// </summary>
public sealed class L1Loss : ElementwiseLoss
{
    /// <inheritdoc/>
    public override string Name => "l1";

    /// <inheritdoc/>
    protected override void Compute(Tensor diff, Tensor values, Tensor derivative)
    {
        var b = diff.Backend;
        var negative = Workspace.Get(b, "negative", diff.Shape);
        b.Scale(diff, -1f, negative);
        var ones = Workspace.Get(b, "ones", diff.Shape);
        b.Fill(ones, 1f);
        // |d| = relu(d) + relu(-d); sign(d) = [d > 0] - [-d > 0] (0 at d = 0).
        var positivePart = Workspace.Get(b, "positive_part", diff.Shape);
        var negativePart = Workspace.Get(b, "negative_part", diff.Shape);
        b.ActivationForward(ActivationKind.ReLU, 0f, diff, positivePart);
        b.ActivationForward(ActivationKind.ReLU, 0f, negative, negativePart);
        b.Add(positivePart, negativePart, values);
        var below = Workspace.Get(b, "below", diff.Shape);
        b.ActivationBackward(ActivationKind.ReLU, 0f, diff, positivePart, ones, derivative);
        b.ActivationBackward(ActivationKind.ReLU, 0f, negative, negativePart, ones, below);
        b.Axpy(-1f, below, derivative);
    }
}

/// <summary>
/// Huber loss (PyTorch's <c>HuberLoss(delta)</c>, Keras' <c>Huber</c>), averaged over every element: for d = prediction −
/// target, 0.5 d² when |d| ≤ δ, else δ (|d| − δ/2). Computed as c·d − c²/2 with c = clamp(d, −δ, δ), which is also the
/// gradient (over the count). Quadratic near 0 like MSE, linear in the tails like L1, so outliers pull less.
/// </summary>
public sealed class HuberLoss : ElementwiseLoss
{
    /// <summary>Creates the loss with threshold <paramref name="delta"/> (positive, default 1).</summary>
    /// <exception cref="ConvNetArgumentException">Delta is not finite and positive.</exception>
    public HuberLoss(float delta = 1f)
    {
        if (!(delta > 0f) || !float.IsFinite(delta))
            throw new ConvNetArgumentException($"Huber loss delta must be finite and positive, got {delta}.", nameof(delta));
        Delta = delta;
    }

    /// <summary>Where the loss turns from quadratic to linear.</summary>
    public float Delta { get; }

    /// <inheritdoc/>
    public override string Name => "huber";

    /// <inheritdoc/>
    protected override void Compute(Tensor diff, Tensor values, Tensor derivative)
    {
        var b = diff.Backend;
        var one = Workspace.Get(b, "one", TensorShape.Vector(1));
        one.Upload([1f]);
        var minusOne = Workspace.Get(b, "minus_one", TensorShape.Vector(1));
        minusOne.Upload([-1f]);
        var minusDelta = Workspace.Get(b, "minus_delta", TensorShape.Vector(1));
        minusDelta.Upload([-Delta]);
        // c = d - relu(d - δ) + relu(-d - δ), written into 'derivative'.
        var shifted = Workspace.Get(b, "shifted", diff.Shape);
        var excess = Workspace.Get(b, "excess", diff.Shape);
        using (var d = Column(diff))
        using (var s = Column(shifted))
        {
            b.ChannelAffine(d, one, minusDelta, s); // d - δ
            b.ActivationForward(ActivationKind.ReLU, 0f, shifted, excess);
            b.Copy(diff, derivative);
            b.Axpy(-1f, excess, derivative);
            b.ChannelAffine(d, minusOne, minusDelta, s); // -d - δ
            b.ActivationForward(ActivationKind.ReLU, 0f, shifted, excess);
            b.Add(derivative, excess, derivative);
        }
        // values = c ⊙ (d − c/2).
        b.Copy(diff, excess);
        b.Axpy(-0.5f, derivative, excess);
        b.Mul(derivative, excess, values);
    }
}
