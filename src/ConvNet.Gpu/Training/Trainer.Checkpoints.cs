using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Training;

public sealed partial class Trainer
{
    /// <summary>
    /// Writes a training checkpoint: the model, the optimizer state, <see cref="Position"/>, <see cref="BatchSize"/>,
    /// <see cref="DataSeed"/>, the divergence references and <paramref name="metadata"/> (model name, application
    /// entries), in one atomic write (see <see cref="TrainingCheckpoint"/>). The input normalization recorded is the
    /// run's (<see cref="InputNormalization"/>) unless the bag gives it; when both give one they must agree.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The metadata is invalid or contradicts the run (nothing is written).</exception>
    /// <exception cref="IOException">The file cannot be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public void SaveCheckpoint(string path, CheckpointMetadata? metadata = null)
    {
        metadata ??= new CheckpointMetadata();
        if (metadata.InputNormalization is { } given && InputNormalization is { } used && !given.Equals(used))
            throw new ConvNetArgumentException(
                $"The checkpoint metadata gives input normalization ({given}) but the trainer's run uses ({used}); a checkpoint must record the one its weights were trained with.");
        PrepareUpdates();
        var state = new TrainingState(Position.Epoch, Position.Batch, Position.GlobalStep, BatchSize, DataSeed,
            Divergence.StartLoss, Divergence.BestEpochAccuracy);
        TrainingCheckpoint.Save(path, Model, Optimizer, state, metadata with { InputNormalization = metadata.InputNormalization ?? InputNormalization });
    }

    /// <summary>
    /// Restores a training checkpoint into this trainer (a fresh model of the same architecture, an optimizer of the
    /// same type): weights, optimizer state and step count, dropout RNG, <see cref="Position"/>, <see cref="BatchSize"/>,
    /// <see cref="DataSeed"/>, <see cref="InputNormalization"/> and the divergence references. The next
    /// <see cref="Fit(Dataset, TrainingOptions)"/> continues from the saved batch.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid training checkpoint.</exception>
    /// <exception cref="ConvNetArgumentException">The model's architecture or the optimizer's type differs from the saved ones.</exception>
    public void RestoreCheckpoint(string path) => RestoreCheckpoint(SavedCheckpoint.Read(path));

    /// <summary>Restores an already read and validated training checkpoint (see <see cref="RestoreCheckpoint(string)"/>).</summary>
    public void RestoreCheckpoint(SavedCheckpoint saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        var s = saved.RestoreTraining(Model, Optimizer).State;
        Position = new TrainingPosition(s.Epoch, s.Batch, s.GlobalStep);
        BatchSize = s.BatchSize;
        DataSeed = s.DataSeed;
        InputNormalization = saved.Metadata.InputNormalization;
        Divergence = new DivergenceReference(s.DivergenceStartLoss, s.DivergenceBestEpochAccuracy);
        _parameters = null;
    }

    /// <summary>
    /// A run that has started (global step > 0) continues only with the settings it was started with: its input
    /// normalization, and mid-epoch its batch size (the saved batch index counts batches of that size).
    /// </summary>
    private void CheckResumable(TrainingOptions options)
    {
        if (Position.GlobalStep == 0) return;
        var given = options.Normalization ?? Normalization.Identity;
        if (InputNormalization is { } saved && !saved.Equals(given))
            throw new ConvNetArgumentException(
                $"Model '{Model.Name}' was trained with input normalization ({saved}) but Fit was given ({given}); resuming with other inputs " +
                "would continue on differently scaled data. Pass the run's normalization (Trainer.InputNormalization).", nameof(options));
        if (Position.Batch > 0 && BatchSize is int size && size != options.BatchSize)
            throw new ConvNetArgumentException(
                $"The run stopped after batch {Position.Batch} of epoch {Position.Epoch + 1} with batch size {size}; it cannot continue that " +
                $"epoch with batch size {options.BatchSize}. Resume with batch size {size}, or change it at an epoch boundary.", nameof(options));
    }

}
