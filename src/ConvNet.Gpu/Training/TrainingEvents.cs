namespace ConvNet.Gpu.Training;

/// <summary>Progress after one training batch.</summary>
/// <param name="Epoch">Epoch index (0-based).</param>
/// <param name="Epochs">Total epochs of the run.</param>
/// <param name="Batch">Batch index inside the epoch (0-based).</param>
/// <param name="BatchesPerEpoch">Batches in one epoch.</param>
/// <param name="GlobalStep">Batches trained since the start of training (after this one).</param>
/// <param name="Loss">This batch's mean loss.</param>
/// <param name="Accuracy">This batch's accuracy.</param>
/// <param name="EpochLoss">Mean loss over the epoch so far.</param>
/// <param name="EpochAccuracy">Accuracy over the epoch so far.</param>
/// <param name="ImagesPerSecond">Training throughput over the epoch so far.</param>
/// <param name="EpochRemaining">Estimated time to the end of the epoch.</param>
/// <param name="LearningRate">The rate used for this batch.</param>
/// <param name="UpdateSkipped">True when the update was skipped for a non-finite loss.</param>
public sealed record BatchProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, long GlobalStep, float Loss, double Accuracy,
    double EpochLoss, double EpochAccuracy, double ImagesPerSecond, TimeSpan EpochRemaining, float LearningRate, bool UpdateSkipped);

/// <summary>Metrics at the end of one epoch.</summary>
/// <param name="Epoch">Epoch index (0-based).</param>
/// <param name="Epochs">Total epochs of the run.</param>
/// <param name="TrainLoss">Mean training loss of the batches run in this epoch.</param>
/// <param name="TrainAccuracy">Training accuracy of those batches.</param>
/// <param name="ValidationLoss">Validation loss, or null without validation data.</param>
/// <param name="ValidationAccuracy">Validation accuracy, or null.</param>
/// <param name="Seconds">Wall time of the epoch's training batches (validation excluded).</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
/// <param name="LearningRate">The rate used in this epoch.</param>
/// <param name="SkippedUpdates">Updates skipped for non-finite losses.</param>
public sealed record EpochMetrics(int Epoch, int Epochs, double TrainLoss, double TrainAccuracy, double? ValidationLoss,
    double? ValidationAccuracy, double Seconds, double ImagesPerSecond, float LearningRate, int SkippedUpdates)
{
    /// <summary>
    /// The values of <see cref="TrainingOptions.Metrics"/>: "name" on the training batches and "val_name" on the
    /// validation data (e.g. "f1", "val_f1", "val_top5_accuracy"). NaN where nothing could be counted.
    /// </summary>
    public IReadOnlyDictionary<string, double> Values { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>
    /// A metric by name: "loss", "accuracy", "val_loss", "val_accuracy", or any name of <see cref="Values"/> (null when a
    /// validation metric is asked of an epoch without validation).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The name is none of these.</exception>
    public double? Get(string metric) => metric switch
    {
        "loss" => TrainLoss,
        "accuracy" => TrainAccuracy,
        "val_loss" => ValidationLoss,
        "val_accuracy" => ValidationAccuracy,
        _ when Values.TryGetValue(metric, out double v) => v,
        _ => throw new ConvNetArgumentException(
            $"Unknown metric '{metric}'; this epoch has loss, accuracy, val_loss, val_accuracy{string.Concat(Values.Keys.Select(k => ", " + k))}.", nameof(metric)),
    };
}

/// <summary>Why <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/> returned.</summary>
public enum StopReason
{
    /// <summary>All epochs ran.</summary>
    Completed,
    /// <summary>A callback (e.g. <see cref="EarlyStopping"/>) asked to stop.</summary>
    StoppedByCallback,
    /// <summary>The cancellation token fired; the position is consistent, so a checkpoint can be written and resumed.</summary>
    Cancelled,
    /// <summary><see cref="TrainingOptions.MaxSteps"/> was reached.</summary>
    MaxStepsReached,
}

/// <summary>What a <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/> call did.</summary>
public sealed class TrainingHistory
{
    /// <summary>Metrics of each completed epoch.</summary>
    public List<EpochMetrics> Epochs { get; } = [];

    /// <summary>The loss of every batch trained by this call, in order.</summary>
    public List<float> StepLosses { get; } = [];

    /// <summary>Why training stopped.</summary>
    public StopReason StopReason { get; internal set; }
}

/// <summary>Where training stands: the next batch to run is batch <see cref="Batch"/> of epoch <see cref="Epoch"/>.</summary>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Batch">Batches already completed in the current epoch.</param>
/// <param name="GlobalStep">Batches completed since training started.</param>
public readonly record struct TrainingPosition(int Epoch, int Batch, long GlobalStep);

/// <summary>
/// A training loss was NaN or infinite. The message names the epoch, the batch and the global step (0-based); lower the
/// learning rate, check the inputs, or enable anomaly detection to find the layer.
/// </summary>
public sealed class NonFiniteLossException : TrainingDivergedException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(int epoch, int batch, long step, float loss)
        : base(DivergenceKind.NonFiniteLoss, epoch, batch, step, loss,
            $"Non-finite loss {loss} at epoch {epoch}, batch {batch} (global step {step}). Training stopped before updating the weights; " +
            "lower the learning rate, check the data, or set AnomalyDetection to find the first layer producing NaN/Inf, " +
            "or use NonFiniteLossPolicy.SkipUpdate to skip such batches.")
    {
    }

    /// <summary>The loss value.</summary>
    public new float Loss => (float)base.Loss;
}

/// <summary>The outcome of one training step.</summary>
/// <param name="Loss">The batch's mean loss.</param>
/// <param name="Correct">Correct predictions according to <see cref="Trainer.Accuracy"/> (samples whose most probable class was the label, for a classifier).</param>
/// <param name="Count">Predictions scored (the batch's samples for a classifier; 0 when the loss has no accuracy).</param>
/// <param name="UpdateSkipped">True when the update was skipped for a non-finite loss.</param>
public sealed record StepResult(float Loss, int Correct, int Count, bool UpdateSkipped)
{
    /// <summary>Correct / Count (NaN when nothing was scored).</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;
}
