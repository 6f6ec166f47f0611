using System.Globalization;
using System.Text;

namespace ConvNet.Gpu.Training;

/// <summary>How <see cref="ConsoleProgress"/> shows the batches of an epoch.</summary>
public enum ProgressStyle
{
    /// <summary>A bar redrawn in place on a terminal; plain lines when the output is redirected (a log file, CI).</summary>
    Auto,

    /// <summary>One line redrawn in place with a carriage return: bar, batch, loss, accuracy, throughput, ETA.</summary>
    Bar,

    /// <summary>A line about every tenth of an epoch, no escape codes or carriage returns.</summary>
    Lines,

    /// <summary>Only the line at the end of each epoch.</summary>
    EpochsOnly,
}

/// <summary>
/// Prints training progress for library users, as <c>convnet train</c> does: during an epoch a progress bar (or a line
/// about every tenth of an epoch), then one summary line per epoch with the training and validation loss, accuracy,
/// the <see cref="TrainingOptions.Metrics"/>, time, throughput and learning rate:
/// <code>
/// epoch 2/10  loss 0.3422 acc 87.47%  |  val_loss 0.3466 val_acc 87.35% val_f1 0.8712  |  5.9 s, 10,147 img/s, lr 0.001
/// </code>
/// Add it to <see cref="TrainingOptions.Callbacks"/>. Writes from the training thread only.
/// </summary>
public sealed class ConsoleProgress : TrainingCallback
{
    private readonly TextWriter _output;
    private readonly bool _bar;
    private readonly ProgressStyle _style;
    private int _lastWidth;

    /// <summary>Creates the callback.</summary>
    /// <param name="output">Where to write (default <see cref="Console.Out"/>).</param>
    /// <param name="style">Bar, lines, epoch lines only, or <see cref="ProgressStyle.Auto"/>: a bar on a terminal, lines otherwise.</param>
    public ConsoleProgress(TextWriter? output = null, ProgressStyle style = ProgressStyle.Auto)
    {
        _output = output ?? Console.Out;
        _style = style;
        _bar = style == ProgressStyle.Bar || (style == ProgressStyle.Auto && output is null && !Console.IsOutputRedirected);
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(Trainer trainer, BatchProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (_style == ProgressStyle.EpochsOnly) return;
        int done = p.Batch + 1;
        if (_bar)
        {
            string line = FormattableString.Invariant(
                $"epoch {p.Epoch + 1}/{p.Epochs} {Bar(done, p.BatchesPerEpoch, 24)} {done}/{p.BatchesPerEpoch}  loss {p.EpochLoss:0.0000}{Accuracy(" acc ", p.EpochAccuracy)}  {p.ImagesPerSecond:N0} img/s  ETA {FormatDuration(p.EpochRemaining)}");
            _output.Write('\r' + line.PadRight(_lastWidth));
            _lastWidth = line.Length;
            _output.Flush();
            return;
        }
        // Every tenth of the epoch by batch number (so a resumed epoch prints at the same batches); the epoch line covers the last.
        int step = Math.Max(1, p.BatchesPerEpoch / 10);
        if (done % step != 0 || done == p.BatchesPerEpoch) return;
        _output.WriteLine(FormattableString.Invariant(
            $"  epoch {p.Epoch + 1}/{p.Epochs}  batch {done,5}/{p.BatchesPerEpoch}  loss {p.EpochLoss:0.0000}{Accuracy("  acc ", p.EpochAccuracy)}  {p.ImagesPerSecond,8:N0} img/s  ETA {FormatDuration(p.EpochRemaining)}"));
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (_bar && _lastWidth > 0)
        {
            _output.Write('\r' + new string(' ', _lastWidth) + '\r');
            _lastWidth = 0;
        }
        _output.WriteLine(EpochLine(metrics));
        _output.Flush();
    }

    /// <summary>
    /// The one-line epoch summary: loss and accuracy (accuracy left out when the loss has none), every metric, the
    /// validation values, time, throughput and learning rate.
    /// </summary>
    public static string EpochLine(EpochMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var line = new StringBuilder(FormattableString.Invariant($"epoch {m.Epoch + 1}/{m.Epochs}  loss {m.TrainLoss:0.0000}"));
        line.Append(Accuracy(" acc ", m.TrainAccuracy));
        foreach (var (name, value) in m.Values.Where(v => !v.Key.StartsWith("val_", StringComparison.Ordinal)))
            line.Append(CultureInfo.InvariantCulture, $" {name} {Format(value)}");
        if (m.ValidationLoss is double vl)
        {
            line.Append(CultureInfo.InvariantCulture, $"  |  val_loss {vl:0.0000}");
            if (m.ValidationAccuracy is double va) line.Append(Accuracy(" val_acc ", va));
            foreach (var (name, value) in m.Values.Where(v => v.Key.StartsWith("val_", StringComparison.Ordinal)))
                line.Append(CultureInfo.InvariantCulture, $" {name} {Format(value)}");
        }
        line.Append(CultureInfo.InvariantCulture, $"  |  {m.Seconds:0.0} s, {m.ImagesPerSecond:N0} img/s, lr {m.LearningRate:0.######}");
        if (m.SkippedUpdates > 0) line.Append(CultureInfo.InvariantCulture, $", {m.SkippedUpdates} updates skipped");
        return line.ToString();
    }

    /// <summary>Formats a duration as m:ss below an hour and h:mm:ss above.</summary>
    public static string FormatDuration(TimeSpan t) =>
        t.TotalHours >= 1 ? FormattableString.Invariant($"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : FormattableString.Invariant($"{t.Minutes:00}:{t.Seconds:00}");

    // Accuracy as a percentage, or nothing for a loss without accuracy (NaN).
    private static string Accuracy(string label, double value) =>
        double.IsNaN(value) ? "" : FormattableString.Invariant($"{label}{value * 100:0.00}%");

    private static string Format(double value) => value.ToString(Math.Abs(value) >= 1000 ? "0.0" : "0.0000", CultureInfo.InvariantCulture);

    private static string Bar(int done, int total, int width)
    {
        int filled = total == 0 ? width : (int)((long)done * width / total);
        return "[" + new string('=', filled) + (filled < width ? ">" + new string(' ', width - filled - 1) : "") + "]";
    }
}
