using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Top-k accuracy of a classifier: a sample counts when its label is among the k highest scores of its row of the
/// predictions (N, classes). Ties are broken as the arg-max does, by the lower class index, so top-1 equals accuracy.
/// </summary>
public sealed class TopKAccuracy : Metric
{
    private readonly HostBatch _host = new();
    private long _hits, _total;

    /// <summary>Creates the metric for <paramref name="k"/> ≥ 1.</summary>
    /// <exception cref="ConvNetArgumentException">k is below 1.</exception>
    public TopKAccuracy(int k)
    {
        if (k < 1) throw new ConvNetArgumentException($"Top-k accuracy needs k >= 1, got {k}.", nameof(k));
        K = k;
    }

    /// <summary>How many of the highest scores may hold the label.</summary>
    public int K { get; }

    /// <inheritdoc/>
    public override string Name => $"top{K}_accuracy";

    /// <inheritdoc/>
    public override void CheckCompatible(TargetKind targets, TensorShape output)
    {
        if (targets != TargetKind.ClassIndex || output.Rank != 1)
            throw new ConvNetArgumentException($"Metric '{Name}' needs class-index targets and class scores (F), got {targets} targets and outputs {output}.");
        if (output[0] < K)
            throw new ConvNetArgumentException($"Metric '{Name}' needs at least {K} classes, but the model scores {output[0]}.");
    }

    /// <inheritdoc/>
    public override void Update(Tensor predictions, Tensor targets)
    {
        int classes = Read(_host, predictions, targets, Name, out var scores, out var labels);
        for (int i = 0; i < labels.Length; i++)
        {
            var row = scores.Slice(i * classes, classes);
            int label = labels[i];
            float s = row[label];
            // The label's rank under "higher score first, lower index first on ties".
            int rank = 0;
            for (int j = 0; j < classes; j++)
                if (row[j] > s || (row[j] == s && j < label)) rank++;
            if (rank < K && !float.IsNaN(s)) _hits++;
        }
        _total += labels.Length;
    }

    /// <inheritdoc/>
    public override double Result() => _total == 0 ? double.NaN : (double)_hits / _total;

    /// <inheritdoc/>
    public override void Reset() => _hits = _total = 0;

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new TopKAccuracy(K);
}

/// <summary>
/// Per-class true positives, false positives and false negatives, for class-index targets (a sample's prediction is
/// the arg-max of its scores, lower index on ties) and multi-hot targets (class c is predicted for a sample when its
/// logit is above 0, and present when its target is 1). The macro averages are taken over the classes that occur in
/// the targets or the predictions (scikit-learn's rule); a class's precision or recall with a zero denominator is 0.
/// </summary>
public abstract class ClassCounts : Metric
{
    private readonly HostBatch _host = new();
    private long[] _tp = [], _fp = [], _fn = [];

    /// <summary>True positives of class <paramref name="c"/> so far.</summary>
    public long TruePositives(int c) => _tp[c];

    /// <summary>False positives of class <paramref name="c"/> so far.</summary>
    public long FalsePositives(int c) => _fp[c];

    /// <summary>False negatives of class <paramref name="c"/> so far.</summary>
    public long FalseNegatives(int c) => _fn[c];

    /// <summary>Precision of class <paramref name="c"/>: TP / (TP + FP), 0 when nothing was predicted as c.</summary>
    public double Precision(int c) => Ratio(_tp[c], _tp[c] + _fp[c]);

    /// <summary>Recall of class <paramref name="c"/>: TP / (TP + FN), 0 when c never occurs.</summary>
    public double Recall(int c) => Ratio(_tp[c], _tp[c] + _fn[c]);

    /// <summary>F1 of class <paramref name="c"/>: 2 TP / (2 TP + FP + FN), 0 when c neither occurs nor is predicted.</summary>
    public double F1(int c) => Ratio(2 * _tp[c], 2 * _tp[c] + _fp[c] + _fn[c]);

    /// <summary>Number of classes seen (0 before the first batch).</summary>
    public int ClassCount => _tp.Length;

    /// <inheritdoc/>
    public override void CheckCompatible(TargetKind targets, TensorShape output)
    {
        if (targets == TargetKind.Values || output.Rank != 1)
            throw new ConvNetArgumentException(
                $"Metric '{Name}' needs class-index or multi-hot targets and class scores (F), got {targets} targets and outputs {output}.");
    }

    /// <inheritdoc/>
    public override void Update(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        int classes = predictions.Shape[predictions.Rank - 1];
        if (_tp.Length != classes)
        {
            if (_tp.Length != 0) throw new ShapeMismatchException($"Metric '{Name}': predictions of {classes} classes after batches of {_tp.Length}.");
            _tp = new long[classes];
            _fp = new long[classes];
            _fn = new long[classes];
        }
        if (targets.DataType == DataType.Int32)
        {
            Read(_host, predictions, targets, Name, out var scores, out var labels);
            for (int i = 0; i < labels.Length; i++)
            {
                int predicted = ArgMaxOf(scores.Slice(i * classes, classes)), actual = labels[i];
                if (predicted == actual) _tp[actual]++;
                else
                {
                    _fp[predicted]++;
                    _fn[actual]++;
                }
            }
            return;
        }
        if (targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException($"Metric '{Name}': multi-hot targets {targets.Shape} do not match the predictions {predictions.Shape}.");
        var z = _host.Predictions(predictions);
        var t = _host.Values(targets);
        for (int i = 0; i < z.Length; i++)
        {
            int c = i % classes;
            bool predictedPositive = z[i] > 0f, positive = t[i] > 0.5f;
            if (predictedPositive && positive) _tp[c]++;
            else if (predictedPositive) _fp[c]++;
            else if (positive) _fn[c]++;
        }
    }

    /// <summary>The mean of <paramref name="perClass"/> over the classes that occur in the targets or predictions (NaN when none).</summary>
    protected double MacroAverage(Func<int, double> perClass)
    {
        double sum = 0;
        int present = 0;
        for (int c = 0; c < _tp.Length; c++)
        {
            if (_tp[c] + _fp[c] + _fn[c] == 0) continue;
            sum += perClass(c);
            present++;
        }
        return present == 0 ? double.NaN : sum / present;
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        Array.Clear(_tp);
        Array.Clear(_fp);
        Array.Clear(_fn);
    }

    private static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;

    // The arg-max rule of every prediction: the first index of the largest value (NaN never wins).
    private static int ArgMaxOf(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }
}

/// <summary>Macro-averaged precision: the mean over the classes of TP / (TP + FP) (see <see cref="ClassCounts"/>).</summary>
public sealed class MacroPrecision : ClassCounts
{
    /// <inheritdoc/>
    public override string Name => "precision";

    /// <inheritdoc/>
    public override double Result() => MacroAverage(Precision);

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new MacroPrecision();
}

/// <summary>Macro-averaged recall: the mean over the classes of TP / (TP + FN) (see <see cref="ClassCounts"/>).</summary>
public sealed class MacroRecall : ClassCounts
{
    /// <inheritdoc/>
    public override string Name => "recall";

    /// <inheritdoc/>
    public override double Result() => MacroAverage(Recall);

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new MacroRecall();
}

/// <summary>Macro-averaged F1: the mean over the classes of 2 TP / (2 TP + FP + FN) (see <see cref="ClassCounts"/>).</summary>
public sealed class MacroF1 : ClassCounts
{
    /// <inheritdoc/>
    public override string Name => "f1";

    /// <inheritdoc/>
    public override double Result() => MacroAverage(F1);

    /// <inheritdoc/>
    public override Metric CreateEmpty() => new MacroF1();
}
