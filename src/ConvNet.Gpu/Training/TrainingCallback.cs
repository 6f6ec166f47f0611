namespace ConvNet.Gpu.Training;

/// <summary>Hooks into <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/>; override what you need. Set <see cref="Trainer.StopRequested"/> to stop.</summary>
public abstract class TrainingCallback
{
    /// <summary>Before the first batch of a Fit call.</summary>
    public virtual void OnTrainBegin(Trainer trainer) { }

    /// <summary>After every batch.</summary>
    public virtual void OnBatchEnd(Trainer trainer, BatchProgress progress) { }

    /// <summary>After every epoch (and its validation).</summary>
    public virtual void OnEpochEnd(Trainer trainer, EpochMetrics metrics) { }

    /// <summary>When Fit returns normally.</summary>
    public virtual void OnTrainEnd(Trainer trainer, TrainingHistory history) { }
}

/// <summary>How a monitored metric improves.</summary>
public enum MetricMode
{
    /// <summary>Lower is better for names containing "loss", higher otherwise.</summary>
    Auto,
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>Tracks the best value of a metric.</summary>
internal sealed class MetricTracker(string metric, MetricMode mode, double minDelta)
{
    private readonly bool _lowerIsBetter = mode == MetricMode.Min || (mode == MetricMode.Auto && metric.Contains("loss", StringComparison.Ordinal));

    public double? Best { get; private set; }

    public bool Update(EpochMetrics m)
    {
        double value = m.Get(metric) ?? throw new InvalidOperationException(
            $"The monitored metric '{metric}' is not available (validation metrics need TrainingOptions.Validation).");
        bool improved = Best is null || (_lowerIsBetter ? value < Best.Value - minDelta : value > Best.Value + minDelta);
        if (improved) Best = value;
        return improved;
    }
}

/// <summary>Stops training when a metric has not improved for <see cref="Patience"/> epochs.</summary>
public sealed class EarlyStopping : TrainingCallback
{
    private readonly MetricTracker _tracker;
    private int _bad;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">"val_loss" (default), "val_accuracy", "loss" or "accuracy".</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="minDelta">Smallest change that counts as an improvement.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    public EarlyStopping(string monitor = "val_loss", int patience = 3, double minDelta = 0, MetricMode mode = MetricMode.Auto)
    {
        if (patience < 0) throw new ConvNetArgumentException($"Early-stopping patience must be >= 0, got {patience}.", nameof(patience));
        Monitor = monitor;
        Patience = patience;
        _tracker = new MetricTracker(monitor, mode, minDelta);
    }

    /// <summary>The monitored metric.</summary>
    public string Monitor { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The epoch at which training was stopped, if it was.</summary>
    public int? StoppedEpoch { get; private set; }

    /// <summary>Best value seen.</summary>
    public double? Best => _tracker.Best;

    /// <inheritdoc/>
    public override void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        if (_tracker.Update(metrics)) { _bad = 0; return; }
        if (++_bad > Patience)
        {
            StoppedEpoch = metrics.Epoch;
            trainer.StopRequested = true;
        }
    }
}

/// <summary>
/// Writes training checkpoints after every epoch: "last" always, and "best" when the monitored metric improves.
/// Each file is complete (model, optimizer, RNG and position) and written atomically.
/// </summary>
public sealed class CheckpointCallback : TrainingCallback
{
    private readonly MetricTracker? _tracker;

    /// <summary>Creates the callback.</summary>
    /// <param name="directory">Where to write (created if missing).</param>
    /// <param name="monitor">Metric for the best checkpoint; null disables "best".</param>
    /// <param name="saveLast">Whether to write the last checkpoint after every epoch.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="filePrefix">File name prefix: files are prefix + "last.ckpt" and prefix + "best.ckpt".</param>
    public CheckpointCallback(string directory, string? monitor = "val_loss", bool saveLast = true, MetricMode mode = MetricMode.Auto,
        string filePrefix = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
        SaveLast = saveLast;
        if (monitor is not null) _tracker = new MetricTracker(monitor, mode, 0);
        LastPath = Path.Combine(directory, filePrefix + "last.ckpt");
        BestPath = Path.Combine(directory, filePrefix + "best.ckpt");
    }

    /// <summary>Output directory.</summary>
    public string Directory { get; }

    /// <summary>Whether "last" is written.</summary>
    public bool SaveLast { get; }

    /// <summary>Path of the last checkpoint.</summary>
    public string LastPath { get; }

    /// <summary>Path of the best checkpoint.</summary>
    public string BestPath { get; }

    /// <summary>Best monitored value so far.</summary>
    public double? Best => _tracker?.Best;

    /// <summary>Writes the checkpoints; in data-parallel training only rank 0 writes (every rank holds the same state).</summary>
    public override void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        bool improved = _tracker is not null && _tracker.Update(metrics); // tracked on every rank: the metrics are global
        if (trainer.DataParallel is { IsRoot: false }) return;
        System.IO.Directory.CreateDirectory(Directory);
        if (SaveLast) trainer.SaveCheckpoint(LastPath);
        if (improved) trainer.SaveCheckpoint(BestPath);
    }
}
