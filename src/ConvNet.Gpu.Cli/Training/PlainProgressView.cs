using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>
/// Progress for logs and CI: no escape codes and no redrawing; a line about every tenth of an epoch
/// and one line per epoch.
/// </summary>
internal sealed class PlainProgressView(CliConsole console) : ProgressView
{
    private int _nextReport;
    private int _step;

    /// <inheritdoc/>
    public override void Run(Action training) => training();

    /// <inheritdoc/>
    public override void BeginEpoch(int epoch, int epochs, int batches, int startBatch)
    {
        _step = Math.Max(1, batches / 10);
        _nextReport = startBatch + _step;
        if (startBatch > 0) console.Line($"epoch {epoch}/{epochs}: resuming at batch {startBatch + 1}/{batches}");
    }

    /// <inheritdoc/>
    public override void Batch(in ProgressLine p)
    {
        if (p.Batch < _nextReport || p.Batch == p.Batches) return; // the epoch line covers the last batch
        _nextReport = p.Batch + _step;
        console.Line(FormattableString.Invariant(
            $"  epoch {p.Epoch}/{p.Epochs}  batch {p.Batch,5}/{p.Batches}  loss {p.Loss:0.0000}  acc {p.Accuracy * 100:0.00}%  {p.ImagesPerSecond,8:N0} img/s  ETA {FormatEta(p.Eta)}"));
    }

    /// <inheritdoc/>
    public override void Evaluating(int epoch) { }

    /// <inheritdoc/>
    public override void EndEpoch(EpochRecord metrics, int epochs, bool isBest) => console.Line(EpochLine(metrics, epochs, isBest));

    /// <inheritdoc/>
    public override void Message(string text) => console.Line(text);
}
