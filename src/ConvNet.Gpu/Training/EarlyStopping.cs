namespace ConvNet.Gpu.Training;

/// <summary>
/// Stops training when a metric has not improved for <see cref="Patience"/> epochs in a row (Keras's semantics: with
/// patience p, training stops at the end of the p-th consecutive epoch without improvement; patience 0 stops at the
/// first one). The first epoch of each Fit always sets the best value: the state starts over in <see cref="OnTrainBegin"/>.
/// </summary>
/// <remarks>
/// With <see cref="RestoreBestWeights"/>, the weights and the non-trainable state (batch-norm running statistics) of
/// the best epoch are kept in host memory at every improvement and put back when the callback stops training, so the
/// model ends as it was at its best epoch (Keras's <c>restore_best_weights</c>: a run that ends without stopping keeps
/// its last weights). The optimizer state and the trainer's position are not rolled back.
/// </remarks>
public sealed class EarlyStopping : TrainingCallback
{
    private readonly MetricTracker _tracker;
    private int _bad;
    private WeightSnapshot? _best;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">"val_loss" (default), "val_accuracy", "loss", "accuracy", or any metric the run reports ("val_f1", "val_mae"...).</param>
    /// <param name="patience">Consecutive epochs without improvement after which training stops (0: the first one).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="restoreBestWeights">Put the best epoch's weights back when stopping.</param>
    /// <exception cref="ConvNetArgumentException">The patience or the minimum change is negative.</exception>
    public EarlyStopping(string monitor = "val_loss", int patience = 3, double minDelta = 0, MetricMode mode = MetricMode.Auto,
        bool restoreBestWeights = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (patience < 0) throw new ConvNetArgumentException($"Early-stopping patience must be >= 0, got {patience}.", nameof(patience));
        if (!(minDelta >= 0)) throw new ConvNetArgumentException($"Early-stopping minDelta must be >= 0, got {minDelta}.", nameof(minDelta));
        Monitor = monitor;
        Patience = patience;
        RestoreBestWeights = restoreBestWeights;
        _tracker = new MetricTracker(monitor, mode, minDelta);
    }

    /// <summary>The monitored metric.</summary>
    public string Monitor { get; }

    /// <summary>Consecutive epochs without improvement after which training stops.</summary>
    public int Patience { get; }

    /// <summary>Whether the best epoch's weights are put back when stopping.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The epoch at which training was stopped in the latest Fit, if it was.</summary>
    public int? StoppedEpoch { get; private set; }

    /// <summary>The epoch with the best value in the latest Fit (the one restored with <see cref="RestoreBestWeights"/>).</summary>
    public int? BestEpoch { get; private set; }

    /// <summary>Best value seen in the latest Fit.</summary>
    public double? Best => _tracker.Best;

    /// <inheritdoc/>
    public override IReadOnlyList<string> MonitoredMetrics => [Monitor];

    /// <summary>Starts over: no best value, no epochs without improvement.</summary>
    public override void OnTrainBegin(Trainer trainer)
    {
        _tracker.Reset();
        _bad = 0;
        _best = null;
        StoppedEpoch = null;
        BestEpoch = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(metrics);
        if (_tracker.Update(metrics))
        {
            _bad = 0;
            BestEpoch = metrics.Epoch;
            if (RestoreBestWeights) _best = WeightSnapshot.Take(trainer.Model, _best);
            return;
        }
        if (++_bad >= Patience)
        {
            StoppedEpoch = metrics.Epoch;
            trainer.StopRequested = true;
            _best?.Restore(trainer.Model);
        }
    }
}
