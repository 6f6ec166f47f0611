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

    /// <summary>
    /// The epoch metrics this callback reads by name ("val_loss", "val_f1"...). Fit checks them against what the run
    /// reports before the first batch, so a misspelled or unavailable name fails at once instead of after an epoch.
    /// Override it in a callback that reads <see cref="EpochMetrics.Get"/>.
    /// </summary>
    public virtual IReadOnlyList<string> MonitoredMetrics => [];
}

/// <summary>How a monitored metric improves.</summary>
public enum MetricMode
{
    /// <summary>Lower is better for names containing "loss" and for the error metrics ("mse", "mae", "val_mse"...), higher otherwise.</summary>
    Auto,
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>Tracks the best value of a metric.</summary>
internal sealed class MetricTracker(string metric, MetricMode mode, double minDelta)
{
    private readonly bool _lowerIsBetter = mode == MetricMode.Min || (mode == MetricMode.Auto && LowerIsBetter(metric));

    public double? Best { get; private set; }

    public void Reset() => Best = null;

    private static bool LowerIsBetter(string name)
    {
        string bare = name.StartsWith("val_", StringComparison.Ordinal) ? name[4..] : name;
        return bare.Contains("loss", StringComparison.Ordinal) || bare is "mse" or "mae";
    }

    public bool Update(EpochMetrics m)
    {
        double value = m.Get(metric) ?? throw new InvalidOperationException(
            $"The monitored metric '{metric}' is not available (validation metrics need TrainingOptions.Validation).");
        bool improved = Best is null || (_lowerIsBetter ? value < Best.Value - minDelta : value > Best.Value + minDelta);
        if (improved) Best = value;
        return improved;
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
        Monitor = monitor;
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

    /// <inheritdoc/>
    public override IReadOnlyList<string> MonitoredMetrics => _tracker is null ? [] : [Monitor!];

    /// <summary>The metric that decides the best checkpoint, or null.</summary>
    public string? Monitor { get; }

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
