using ConvNet.Gpu.Data;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Training;

/// <summary>What to do when a batch's loss is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Stop with a <see cref="NonFiniteLossException"/> naming the epoch, batch and step (the default).</summary>
    Throw,

    /// <summary>Skip that batch's parameter update, count it, and go on.</summary>
    SkipUpdate,
}

/// <summary>Settings of <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/>.</summary>
public sealed class TrainingOptions
{
    private readonly int? _epochs;

    /// <summary>
    /// How many epochs this Fit call runs, counted from where the trainer stands (Keras's semantics): a second
    /// <c>Fit</c> with <c>Epochs = 2</c> runs two more, and a run resumed in the middle of an epoch counts finishing it
    /// as one. Default 10. Set <see cref="UntilEpoch"/> instead to train up to an absolute epoch count.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The value is negative.</exception>
    public int Epochs
    {
        get => _epochs ?? 10;
        init => _epochs = value >= 0 ? value : throw new ConvNetArgumentException($"Epochs must be >= 0, got {value}.", nameof(Epochs));
    }

    /// <summary>
    /// The absolute form: train until the trainer has completed this many epochs in all (counting epochs done before a
    /// resume), so a resumed run with <c>UntilEpoch = 10</c> stops where an uninterrupted one would; 0 more epochs when
    /// it is already there. Null (the default) uses <see cref="Epochs"/>; setting both is an error.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The value is negative.</exception>
    public int? UntilEpoch
    {
        get => _untilEpoch;
        init => _untilEpoch = value is null or >= 0 ? value : throw new ConvNetArgumentException($"UntilEpoch must be >= 0, got {value}.", nameof(UntilEpoch));
    }

    private readonly int? _untilEpoch;

    /// <summary>The epoch index (exclusive) a Fit starting at <paramref name="currentEpoch"/> trains up to.</summary>
    /// <exception cref="ConvNetArgumentException">Both <see cref="Epochs"/> and <see cref="UntilEpoch"/> are set.</exception>
    internal int EndEpoch(int currentEpoch)
    {
        if (_epochs is not null && _untilEpoch is not null)
            throw new ConvNetArgumentException(
                $"TrainingOptions sets both Epochs ({_epochs}: epochs to run now) and UntilEpoch ({_untilEpoch}: the absolute epoch to stop at); set one.");
        return _untilEpoch ?? checked(currentEpoch + Epochs);
    }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Whether each epoch visits the training samples in a fresh seeded order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the data order (the order of epoch e depends only on this seed and e).</summary>
    public ulong Seed { get; init; }

    /// <summary>Drop a last batch smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Pixel normalization applied to training batches and validation data; null for none.</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>
    /// Per-sample augmentation applied to every training batch (random crop, flip, erasing...; null: none). Seeded by
    /// <see cref="Seed"/>, so a resumed run sees the same augmented samples. The validation data is not transformed.
    /// </summary>
    public TransformPipeline? Transforms { get; init; }

    /// <summary>Host threads that prepare batches (transforms, normalization) ahead of the step; 0 (the default) prepares them on the training thread. The batches are the same whatever the count.</summary>
    public int DataWorkers { get; init; }

    /// <summary>
    /// Clip the gradients by their global L2 norm before every update (<see cref="GlobalNormClipping"/>, on the device):
    /// when ‖g‖ &gt; this value every gradient is scaled by value / ‖g‖. Null (the default): no clipping.
    /// </summary>
    public float? GradientClipNorm { get; init; }

    /// <summary>Held-out data evaluated after every epoch; null to skip validation.</summary>
    public Dataset? Validation { get; init; }

    /// <summary>Batch size for validation.</summary>
    public int ValidationBatchSize { get; init; } = 256;

    /// <summary>
    /// Metrics computed on the training batches and on <see cref="Validation"/> besides the loss and accuracy, by name
    /// ("top5_accuracy", "precision", "recall", "f1", "mse", "mae", "iou"; see <see cref="Metric.FromName"/>). Reported in
    /// <see cref="EpochMetrics.Values"/> as "name" and "val_name"; checked against the data before the first batch.
    /// </summary>
    public IReadOnlyList<string> Metrics { get; init; } = [];

    /// <summary>Callbacks (early stopping, checkpoints, logging), called in order.</summary>
    public IReadOnlyList<TrainingCallback> Callbacks { get; init; } = [];

    /// <summary>Per-epoch learning-rate schedule; null keeps the optimizer's rate.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>What to do on a non-finite loss.</summary>
    public NonFiniteLossPolicy NonFiniteLoss { get; init; } = NonFiniteLossPolicy.Throw;

    /// <summary>When a finite but exploding loss, or a collapse to chance accuracy, stops the run (see <see cref="DivergencePolicy"/>).</summary>
    public DivergencePolicy Divergence { get; init; } = DivergencePolicy.Default;

    /// <summary>Check every layer's output and gradients for NaN/Inf and name the first offender (slow).</summary>
    public bool AnomalyDetection { get; init; }

    /// <summary>Stop once the global step count reaches this value (null: no limit).</summary>
    public long? MaxSteps { get; init; }

    /// <summary>
    /// Data-parallel training across processes (null: this process alone). <see cref="BatchSize"/> is then the global
    /// batch, shared out among the ranks; see <see cref="Distributed.DataParallel"/>.
    /// </summary>
    public DataParallel? DataParallel { get; init; }

    /// <summary>
    /// On a CUDA backend, keep the host out of the training step (default on; see docs/training-loop.md): the loss, the
    /// accuracy counts and the non-finite guard stay on the device, and the host reads them every
    /// <see cref="ReadInterval"/>, at the end of each epoch, and at least every 1,024 steps. Per-step values
    /// (<see cref="BatchProgress"/>, callbacks, <see cref="TrainingHistory.StepLosses"/>) are then delivered at those
    /// reads, for every step in order; <see cref="Trainer.StopRequested"/> and a non-finite loss take effect there.
    /// The loop is used when the loss is softmax cross-entropy or focal, the optimizer SGD, Adam or AdamW, the accuracy
    /// the default, and there are no gradient hooks, data parallelism or anomaly detection; otherwise, and on the CPU,
    /// every step runs on the host as before. <see cref="Trainer.StepPath"/> says which ran and why.
    /// </summary>
    public bool DeviceLoop { get; init; } = true;

    /// <summary>
    /// With the device loop, capture the whole step (forward, loss, backward, update) as a CUDA graph per batch size and
    /// input slot and replay it with one launch per step (default on; off runs the same kernels eagerly). Partial batches
    /// run eagerly.
    /// </summary>
    public bool CudaGraphs { get; init; } = true;

    /// <summary>How often the device loop reads the metrics back (default 1 s): the granularity of per-step events.</summary>
    public TimeSpan ReadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Stops training after the current batch; <see cref="TrainingHistory.StopReason"/> is then <see cref="StopReason.Cancelled"/>.</summary>
    public CancellationToken CancellationToken { get; init; }
}
