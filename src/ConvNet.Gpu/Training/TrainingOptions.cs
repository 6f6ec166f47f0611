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
    /// <summary>Number of epochs to train (counting from epoch 0, including epochs done before a resume).</summary>
    public int Epochs { get; init; } = 10;

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

    /// <summary>Held-out data evaluated after every epoch; null to skip validation.</summary>
    public Dataset? Validation { get; init; }

    /// <summary>Batch size for validation.</summary>
    public int ValidationBatchSize { get; init; } = 256;

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
