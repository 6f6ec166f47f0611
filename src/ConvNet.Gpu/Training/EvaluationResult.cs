using System.Globalization;
using System.Text;

namespace ConvNet.Gpu.Training;

/// <summary>Counts of (true class, predicted class) pairs; rows are true classes, columns predictions.</summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;

    /// <summary>Creates an empty matrix for <paramref name="classes"/> classes.</summary>
    public ConfusionMatrix(int classes)
    {
        if (classes < 1) throw new ConvNetArgumentException($"A confusion matrix needs at least one class, got {classes}.", nameof(classes));
        _counts = new long[classes, classes];
    }

    /// <summary>Number of classes.</summary>
    public int ClassCount => _counts.GetLength(0);

    /// <summary>How many samples of class <paramref name="actual"/> were predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts[actual, predicted];

    /// <summary>Total samples counted.</summary>
    public long Total { get; private set; }

    /// <summary>Correct predictions (the diagonal).</summary>
    public long Correct { get; private set; }

    /// <summary>Correct / total (0 when empty).</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>Records one prediction.</summary>
    public void Add(int actual, int predicted)
    {
        _counts[actual, predicted]++;
        Total++;
        if (actual == predicted) Correct++;
    }

    /// <summary>Recall of class <paramref name="c"/>: correct predictions of it over its samples.</summary>
    public double Recall(int c)
    {
        long row = 0;
        for (int j = 0; j < ClassCount; j++) row += _counts[c, j];
        return row == 0 ? 0 : (double)_counts[c, c] / row;
    }

    /// <summary>Precision of class <paramref name="c"/>: correct predictions of it over all predictions of it.</summary>
    public double Precision(int c)
    {
        long col = 0;
        for (int i = 0; i < ClassCount; i++) col += _counts[i, c];
        return col == 0 ? 0 : (double)_counts[c, c] / col;
    }

    /// <summary>F1 of class <paramref name="c"/>: the harmonic mean of its precision and recall, 2 TP / (2 TP + FP + FN) (0 when both are 0).</summary>
    public double F1(int c)
    {
        long row = 0, col = 0;
        for (int j = 0; j < ClassCount; j++)
        {
            row += _counts[c, j];
            col += _counts[j, c];
        }
        long denominator = row + col;
        return denominator == 0 ? 0 : 2.0 * _counts[c, c] / denominator;
    }

    /// <summary>The mean of <see cref="F1"/> over the classes that occur among the true or predicted classes (scikit-learn's macro F1).</summary>
    public double MacroF1
    {
        get
        {
            double sum = 0;
            int present = 0;
            for (int c = 0; c < ClassCount; c++)
            {
                long row = 0, col = 0;
                for (int j = 0; j < ClassCount; j++) { row += _counts[c, j]; col += _counts[j, c]; }
                if (row + col == 0) continue;
                sum += F1(c);
                present++;
            }
            return present == 0 ? 0 : sum / present;
        }
    }

    /// <summary>An aligned table, optionally labelled with class names.</summary>
    public string ToString(IReadOnlyList<string>? classNames)
    {
        int k = ClassCount;
        string Label(int i) => classNames is not null && i < classNames.Count ? classNames[i] : i.ToString(CultureInfo.InvariantCulture);
        int w = Math.Max(6, Enumerable.Range(0, k).Max(i => Math.Max(Label(i).Length, _counts.Cast<long>().Max().ToString(CultureInfo.InvariantCulture).Length)) + 1);
        var sb = new StringBuilder();
        sb.Append("actual\\pred".PadRight(w + 2));
        for (int j = 0; j < k; j++) sb.Append(Label(j).PadLeft(w));
        sb.AppendLine();
        for (int i = 0; i < k; i++)
        {
            sb.Append(Label(i).PadRight(w + 2));
            for (int j = 0; j < k; j++) sb.Append(_counts[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(w));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToString(null);
}

/// <summary>Mean loss, accuracy, confusion matrix (classification) and task metrics of a model on a data set.</summary>
/// <param name="Loss">Mean loss over the samples.</param>
/// <param name="ConfusionMatrix">Counts of (true, predicted) classes for class-index targets; null for other tasks.</param>
public sealed record EvaluationResult(float Loss, ConfusionMatrix? ConfusionMatrix)
{
    /// <summary>
    /// Fraction of correct predictions: of samples for a classifier, of elements for binary cross-entropy (multi-label
    /// vectors, masks: σ(z) &gt; 1/2 against target &gt; 1/2); NaN for a loss without one (regression).
    /// </summary>
    public double Accuracy { get; init; } = ConfusionMatrix?.Accuracy ?? double.NaN;

    /// <summary>Number of samples evaluated.</summary>
    public long Count { get; init; } = ConfusionMatrix?.Total ?? 0;

    /// <summary>
    /// The task's metrics by name ("top5_accuracy", "precision", "recall", "f1", "mse", "mae", "iou"; see
    /// <see cref="Evaluator.Evaluate(Nn.Model, Data.Dataset, int, Losses.Loss?, Data.Normalization?, IReadOnlyList{string}?)"/>); empty when none were computed.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);
}
