using System.Globalization;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Training;

/// <summary>
/// A quality measure accumulated over batches (an epoch of training, or an evaluation) and read as one number:
/// top-k accuracy, macro precision, recall and F1, MSE, MAE, IoU. Metrics are named (<see cref="Name"/>; validation
/// values get "val_" in front) so callbacks can monitor them, and <see cref="FromName"/> turns the names of
/// <see cref="TrainingOptions.Metrics"/> into metrics, failing before any training on a name it does not know.
/// Accuracy itself is always reported (<c>EpochMetrics.TrainAccuracy</c>) and needs no metric.
/// </summary>
/// <remarks>
/// <see cref="Update"/> reads a batch's predictions (the model's output: logits for classification and masks) and
/// targets (int32 class indices, or float32 values of the predictions' element count) on any backend; the metrics here
/// download both and count on the host in a fixed order, so results are deterministic. A metric serves one thread.
/// </remarks>
public abstract class Metric
{
    /// <summary>The name reported and monitored, e.g. "top5_accuracy", "f1", "mae", "iou".</summary>
    public abstract string Name { get; }

    /// <summary>Whether a larger value is better (false for error measures such as MSE).</summary>
    public virtual bool HigherIsBetter => true;

    /// <summary>Adds one batch.</summary>
    /// <exception cref="ShapeMismatchException">The targets do not fit the predictions.</exception>
    public abstract void Update(Tensor predictions, Tensor targets);

    /// <summary>The value over every batch since the last <see cref="Reset"/> (NaN when nothing was counted).</summary>
    public abstract double Result();

    /// <summary>Starts a new accumulation.</summary>
    public abstract void Reset();

    /// <summary>
    /// Throws a <see cref="ConvNetArgumentException"/> naming the metric when it cannot score data with
    /// <paramref name="targets"/> targets for a model whose per-sample output is <paramref name="output"/>; the trainer
    /// calls it before the first batch.
    /// </summary>
    public abstract void CheckCompatible(TargetKind targets, TensorShape output);

    /// <summary>A new, empty metric of the same kind and settings (the trainer keeps one for training and one for validation).</summary>
    public abstract Metric CreateEmpty();

    /// <summary>The names <see cref="FromName"/> knows ("topK_accuracy" for any K ≥ 1).</summary>
    public static IReadOnlyList<string> KnownNames { get; } = ["top5_accuracy", "precision", "recall", "f1", "mse", "mae", "iou"];

    /// <summary>
    /// The metric called <paramref name="name"/>: "top&lt;k&gt;_accuracy", "precision", "recall", "f1" (macro averages over
    /// the classes), "mse", "mae", "iou" (binary masks).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The name is unknown (the message lists the known ones and suggests the closest).</exception>
    public static Metric FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var topK = Regex.Match(name, "^top([1-9][0-9]{0,3})_accuracy$");
        if (topK.Success) return new TopKAccuracy(int.Parse(topK.Groups[1].Value, CultureInfo.InvariantCulture));
        return name switch
        {
            "precision" => new MacroPrecision(),
            "recall" => new MacroRecall(),
            "f1" => new MacroF1(),
            "mse" => new MeanSquaredErrorMetric(),
            "mae" => new MeanAbsoluteErrorMetric(),
            "iou" => new IntersectionOverUnion(),
            _ => throw new ConvNetArgumentException(
                $"Unknown metric '{name}'{MetricNames.Suggest(name, [.. KnownNames, "accuracy"])}; known metrics are accuracy (always reported), " +
                $"top<k>_accuracy, precision, recall, f1, mse, mae and iou.", nameof(name)),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>A classifier batch on the host: scores (N × classes) and labels (N); checks the shapes and labels and returns the class count.</summary>
    private protected static int Read(HostBatch host, Tensor predictions, Tensor targets, string name, out ReadOnlySpan<float> scores, out ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (predictions.Rank != 2 || targets.DataType != DataType.Int32 || targets.ElementCount != predictions.Shape[0])
            throw new ShapeMismatchException($"Metric '{name}': expected scores (N, classes) and N int32 labels, got {predictions.Shape} and {targets}.");
        int classes = predictions.Shape[1];
        scores = host.Predictions(predictions);
        labels = host.Labels(targets);
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ConvNetArgumentException($"Metric '{name}': label {labels[i]} at index {i} is outside [0, {classes}).", nameof(targets));
        return classes;
    }

    /// <summary>Host copies of a batch's predictions and targets, reused from call to call.</summary>
    private protected sealed class HostBatch
    {
        private float[] _predictions = [], _values = [];
        private int[] _labels = [];

        public ReadOnlySpan<float> Predictions(Tensor t) => Download(t, ref _predictions);

        public ReadOnlySpan<float> Values(Tensor t) => Download(t, ref _values);

        public ReadOnlySpan<int> Labels(Tensor t)
        {
            int n = checked((int)t.ElementCount);
            if (_labels.Length < n) _labels = new int[n];
            t.Download(_labels.AsSpan(0, n));
            return _labels.AsSpan(0, n);
        }

        private static ReadOnlySpan<float> Download(Tensor t, ref float[] buffer)
        {
            int n = checked((int)t.ElementCount);
            if (buffer.Length < n) buffer = new float[n];
            t.Download(buffer.AsSpan(0, n));
            return buffer.AsSpan(0, n);
        }
    }
}

/// <summary>Name checks shared by the metrics and the trainer's validation of monitored names.</summary>
internal static class MetricNames
{
    /// <summary>" (did you mean 'x'?)" for the known name closest to <paramref name="name"/> by edit distance (at most 4), or "".</summary>
    public static string Suggest(string name, IEnumerable<string> known)
    {
        var best = known.Select(k => (Name: k, Distance: Distance(name, k))).OrderBy(p => p.Distance).ThenBy(p => p.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        // A prefix either way (val_acc of val_accuracy, f1 of f1_score) is as good a hint as a small typo.
        var prefix = known.Where(k => k.StartsWith(name, StringComparison.Ordinal)).Order(StringComparer.Ordinal).FirstOrDefault()
            ?? known.Where(k => name.StartsWith(k, StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault();
        string? hint = prefix ?? (best.Name is not null && best.Distance <= 4 ? best.Name : null);
        return hint is null ? "" : $" (did you mean '{hint}'?)";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
