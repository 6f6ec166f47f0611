using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using Spectre.Console;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>
/// Live Spectre.Console progress on a terminal: an overall bar for the run and one bar per epoch whose description
/// carries the running loss, accuracy, images/s and the run's ETA. Finished epochs stay on screen as one line each.
/// </summary>
internal sealed class LiveProgressView(CliConsole console) : ProgressView
{
    private ProgressContext? _context;
    private ProgressTask? _overall;
    private ProgressTask? _epochTask;
    private int _batchesPerEpoch;
    private int _epochs;
    private DateTime _lastRefresh;

    /// <inheritdoc/>
    public override void Run(Action training)
    {
        console.Ansi.Progress()
            .AutoRefresh(true)
            .AutoClear(true) // epoch lines stay above; the bars go when training ends
            .HideCompleted(true)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn { Width = 30 },
                new PercentageColumn(),
                new ElapsedTimeColumn(),
                new SpinnerColumn())
            .Start(ctx =>
            {
                _context = ctx;
                try { training(); }
                finally
                {
                    _epochTask?.StopTask();
                    _overall?.StopTask();
                    _context = null;
                }
            });
    }

    /// <inheritdoc/>
    public override void BeginEpoch(int epoch, int epochs, int batches, int startBatch)
    {
        if (_context is null) return;
        _epochs = epochs;
        _batchesPerEpoch = batches;
        _overall ??= _context.AddTask("[bold]run[/]", maxValue: (double)epochs * batches);
        _overall.Value = (double)(epoch - 1) * batches + startBatch;
        _epochTask = _context.AddTask($"epoch {epoch}/{epochs}", maxValue: batches);
        _epochTask.Value = startBatch;
    }

    /// <inheritdoc/>
    public override void Batch(in ProgressLine p)
    {
        if (_epochTask is null || _overall is null) return;
        _epochTask.Value = p.Batch;
        _overall.Value = (double)(p.Epoch - 1) * _batchesPerEpoch + p.Batch;
        DateTime now = DateTime.UtcNow;
        if ((now - _lastRefresh).TotalMilliseconds < 100 && p.Batch != p.Batches) return; // descriptions are re-laid out on change
        _lastRefresh = now;
        _epochTask.Description = FormattableString.Invariant(
            $"epoch {p.Epoch}/{p.Epochs}  loss [yellow]{p.Loss:0.0000}[/]  acc [green]{p.Accuracy * 100:0.00}%[/]  {p.ImagesPerSecond:N0} img/s");
        _overall.Description = $"[bold]run[/]  ETA {FormatEta(p.Eta)}";
    }

    /// <inheritdoc/>
    public override void Evaluating(int epoch)
    {
        if (_epochTask is not null) _epochTask.Description = $"epoch {epoch}/{_epochs}  [grey]evaluating on the test set…[/]";
    }

    /// <inheritdoc/>
    public override void EndEpoch(EpochRecord metrics, int epochs, bool isBest)
    {
        _epochTask?.StopTask();
        string line = Markup.Escape(EpochLine(metrics, epochs, isBest));
        console.Ansi.MarkupLine(isBest ? $"[green]{line}[/]" : line);
    }

    /// <inheritdoc/>
    public override void Message(string text) => console.Ansi.MarkupLine(Markup.Escape(text));
}
