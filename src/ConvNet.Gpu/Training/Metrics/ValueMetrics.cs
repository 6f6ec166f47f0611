using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Base of the metrics over float targets of the predictions' element count (regression values, images, masks): it
/// checks and downloads a batch and hands each (prediction, target) pair to the metric, in order.
/// </summary>
public abstract class ValueMetric : Metric
{
    private readonly HostBatch _host = new();

    /// <inheritdoc/>
    public override void CheckCompatible(TargetKind targets, TensorShape output)
    {
        if (targets == TargetKind.ClassIndex)
            throw new ConvNetArgumentException($"Metric '{Name}' needs float targets (values or masks), but the data has class-index labels.");
    }

    /// <inheritdoc/>
    public sealed override void Update(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.DataType != DataType.Float32 || targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException($"Metric '{Name}': targets must be float32 with the predictions' {predictions.ElementCount} elements ({predictions.Shape}), got {targets}.");
        Accumulate(_host.Predictions(predictions), _host.Values(targets));
    }

    /// <summary>Adds the pairs (p[i], t[i]).</summary>
    protected abstract void Accumulate(ReadOnlySpan<float> p, ReadOnlySpan<float> t);
}

/// <summary>
/// Base of the metrics that are the mean of a per-element term over every element accumulated (MSE, MAE): the sum and
/// the count in float64 and long; NaN before any element.
/// </summary>
public abstract class ElementMeanMetric : ValueMetric
{
    private double _sum;
    private long _count;

    /// <inheritdoc/>
    public override bool HigherIsBetter => false;

    /// <inheritdoc/>
    protected sealed override void Accumulate(ReadOnlySpan<float> p, ReadOnlySpan<float> t)
    {
        _sum = AddTerms(_sum, p, t);
        _count += p.Length;
    }

    /// <summary><paramref name="sum"/> plus the per-element terms of the pairs (p[i], t[i]), added one by one in element order (float64).</summary>
    protected abstract double AddTerms(double sum, ReadOnlySpan<float> p, ReadOnlySpan<float> t);

    /// <inheritdoc/>
    public override double Result() => _count == 0 ? double.NaN : _sum / _count;

    /// <inheritdoc/>
    public override void Reset() => (_sum, _count) = (0, 0);
}

/// <summary>Mean squared error over every element, accumulated in float64.</summary>
public sealed class MeanSquaredErrorMetric : ElementMeanMetric
{
    /// <inheritdoc/>
    public override string Name => "mse";

    /// <inheritdoc/>
    protected override double AddTerms(double sum, ReadOnlySpan<float> p, ReadOnlySpan<float> t)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = (double)p[i] - t[i];
            sum += d * d;
        }
        return sum;
    }

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new MeanSquaredErrorMetric();
}

/// <summary>Mean absolute error over every element, accumulated in float64.</summary>
public sealed class MeanAbsoluteErrorMetric : ElementMeanMetric
{
    /// <inheritdoc/>
    public override string Name => "mae";

    /// <inheritdoc/>
    protected override double AddTerms(double sum, ReadOnlySpan<float> p, ReadOnlySpan<float> t)
    {
        for (int i = 0; i < p.Length; i++) sum += Math.Abs((double)p[i] - t[i]);
        return sum;
    }

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new MeanAbsoluteErrorMetric();
}

/// <summary>
/// Intersection over union of binary masks (segmentation) over everything accumulated: an element is predicted
/// foreground when its logit is above 0 and is foreground when its target is above 0.5; IoU = TP / (TP + FP + FN),
/// 1 when neither the targets nor the predictions have any foreground.
/// </summary>
public sealed class IntersectionOverUnion : ValueMetric
{
    private long _tp, _fp, _fn, _count;

    /// <inheritdoc/>
    public override string Name => "iou";

    /// <inheritdoc/>
    protected override void Accumulate(ReadOnlySpan<float> p, ReadOnlySpan<float> t)
    {
        for (int i = 0; i < p.Length; i++)
        {
            bool predicted = p[i] > 0f, actual = t[i] > 0.5f;
            if (predicted && actual) _tp++;
            else if (predicted) _fp++;
            else if (actual) _fn++;
        }
        _count += p.Length;
    }

    /// <inheritdoc/>
    public override double Result() => _count == 0 ? double.NaN : _tp + _fp + _fn == 0 ? 1.0 : (double)_tp / (_tp + _fp + _fn);

    /// <inheritdoc/>
    public override void Reset() => (_tp, _fp, _fn, _count) = (0, 0, 0, 0);

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new IntersectionOverUnion();
}
