namespace ConvNet.Gpu.Training;

/// <summary>
/// Multiplies the learning rate by <see cref="Factor"/> when a metric has not improved for <see cref="Patience"/>
/// epochs in a row (Keras's <c>ReduceLROnPlateau</c>, rule for rule): an improvement is a change beyond
/// <see cref="MinDelta"/>; after a reduction the count restarts and <see cref="Cooldown"/> epochs pass before counting
/// again; the rate never goes below <see cref="MinLearningRate"/>. It sets <c>Optimizer.LearningRate</c> at the end of an
/// epoch, so the next epoch uses the new rate.
/// </summary>
/// <remarks>
/// A <see cref="TrainingOptions.Schedule"/> also sets the rate, and the two cannot both decide it: Fit with both is
/// refused before the first batch. The state (best value, counts) starts over at every Fit, as in Keras; the reduced
/// rate stays on the optimizer.
/// </remarks>
public sealed class ReduceLearningRateOnPlateau : TrainingCallback
{
    private readonly MetricTracker _tracker;
    private int _wait, _cooldownLeft;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The metric to watch, e.g. "val_loss" (default), "loss", "val_accuracy", "val_mae".</param>
    /// <param name="factor">The multiplier of the rate, in (0, 1); default 0.1.</param>
    /// <param name="patience">Consecutive epochs without improvement before a reduction (≥ 1); default 10.</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (≥ 0); default 1e-4.</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting again (≥ 0); default 0.</param>
    /// <param name="minLearningRate">The lowest rate (≥ 0); default 0.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <exception cref="ConvNetArgumentException">An argument is out of its range.</exception>
    public ReduceLearningRateOnPlateau(string monitor = "val_loss", float factor = 0.1f, int patience = 10, double minDelta = 1e-4,
        int cooldown = 0, float minLearningRate = 0f, MetricMode mode = MetricMode.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (!(factor > 0f && factor < 1f)) throw new ConvNetArgumentException($"ReduceLearningRateOnPlateau: factor must be in (0, 1), got {factor}.", nameof(factor));
        if (patience < 1) throw new ConvNetArgumentException($"ReduceLearningRateOnPlateau: patience must be >= 1, got {patience}.", nameof(patience));
        if (!(minDelta >= 0)) throw new ConvNetArgumentException($"ReduceLearningRateOnPlateau: minDelta must be >= 0, got {minDelta}.", nameof(minDelta));
        if (cooldown < 0) throw new ConvNetArgumentException($"ReduceLearningRateOnPlateau: cooldown must be >= 0, got {cooldown}.", nameof(cooldown));
        if (!(minLearningRate >= 0f) || !float.IsFinite(minLearningRate))
            throw new ConvNetArgumentException($"ReduceLearningRateOnPlateau: minLearningRate must be finite and >= 0, got {minLearningRate}.", nameof(minLearningRate));
        Monitor = monitor;
        Factor = factor;
        Patience = patience;
        MinDelta = minDelta;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
        _tracker = new MetricTracker(monitor, mode, minDelta);
    }

    /// <summary>The monitored metric.</summary>
    public string Monitor { get; }

    /// <summary>The multiplier of the rate.</summary>
    public float Factor { get; }

    /// <summary>Consecutive epochs without improvement before a reduction.</summary>
    public int Patience { get; }

    /// <summary>Smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs after a reduction during which no reduction is counted.</summary>
    public int Cooldown { get; }

    /// <summary>The lowest rate.</summary>
    public float MinLearningRate { get; }

    /// <summary>The epochs at whose end the rate was reduced, in the latest Fit.</summary>
    public IReadOnlyList<int> Reductions => _reductions;

    private readonly List<int> _reductions = [];

    /// <inheritdoc/>
    public override IReadOnlyList<string> MonitoredMetrics => [Monitor];

    /// <summary>Starts over; refuses a run whose learning rate a schedule already sets.</summary>
    /// <exception cref="ConvNetArgumentException">The Fit has a <see cref="TrainingOptions.Schedule"/>.</exception>
    public override void OnTrainBegin(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.ActiveSchedule is { } schedule)
            throw new ConvNetArgumentException(
                $"ReduceLearningRateOnPlateau and the schedule '{schedule}' would both set the learning rate; use one of them.");
        _tracker.Reset();
        _wait = _cooldownLeft = 0;
        _reductions.Clear();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(metrics);
        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _wait = 0;
        }
        if (_tracker.Update(metrics))
        {
            _wait = 0;
            return;
        }
        if (_cooldownLeft > 0 || ++_wait < Patience) return;
        var optimizer = trainer.Optimizer;
        if (optimizer.LearningRate > MinLearningRate)
        {
            optimizer.LearningRate = Math.Max(optimizer.LearningRate * Factor, MinLearningRate);
            _reductions.Add(metrics.Epoch);
            _cooldownLeft = Cooldown;
            _wait = 0;
        }
    }
}
