using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Restoring a <see cref="TrainingSession"/> from a checkpoint, with the options given together with --resume.</summary>
internal sealed partial class TrainingSession
{
    /// <summary>
    /// Restores a session from a checkpoint written by <see cref="Save"/>: the file is read once and checked field by
    /// field (<see cref="SavedCheckpoint"/>), the model is rebuilt from the saved architecture, the optimizer from its
    /// saved configuration, and weights, optimizer state and position are loaded. <paramref name="expectedModel"/> (an
    /// explicit --model) must match the checkpoint's model. A checkpoint that does not record the input normalization
    /// (or, to resume, the batch size) is refused rather than guessed. Any problem is a checkpoint error (exit code 4)
    /// naming the file.
    /// </summary>
    public static TrainingSession Resume(string checkpoint, IBackend backend, string? expectedModel, bool forTraining, ResumeOverrides? overrides = null)
    {
        Model? network = null;
        try
        {
            SavedCheckpoint saved = SavedCheckpoint.Read(checkpoint);
            string modelName = saved.Metadata.Model ?? CustomModel;
            if (expectedModel is not null && modelName != expectedModel)
                throw CliException.CheckpointError(
                    $"{checkpoint} holds a '{modelName}' model, not '{expectedModel}'. Drop --model to resume it as '{modelName}', or pass a checkpoint of a '{expectedModel}' run.");
            TrainingCheckpointState? training = saved.Training;
            if (forTraining && training is null)
                throw CliException.CheckpointError(
                    $"{checkpoint} is a model-only checkpoint (kind \"{saved.Kind}\"): it has no optimizer state or position to resume from.");
            // Version 0/1 files that recorded a normalization were migrated when read (a Normalize layer in front of the
            // model, identity outside); one that recorded none cannot be evaluated without guessing and is refused.
            Normalization outside = saved.Metadata.RequireInputNormalization(checkpoint);
            if (!outside.Equals(Normalization.Identity))
                throw CliException.CheckpointError(
                    $"{checkpoint} applies the input normalization ({outside}) outside the model, which convnet no longer does; " +
                    "it was written by a library run with TrainingOptions.Normalization. Put a Normalize layer in the model instead.");
            if (forTraining && training!.State.BatchSize is null)
                throw CliException.CheckpointError($"{checkpoint}: it does not record the batch size of its run, so the run cannot be continued as it was.");
            var notes = new List<string>();
            int batchSize = training?.State.BatchSize ?? EvaluationBatchSize;
            JsonObject? optimizerConfig = training?.OptimizerConfiguration;
            if (training is not null && overrides is not null)
                (batchSize, optimizerConfig) = ApplyOverrides(checkpoint, training, overrides, notes);

            network = saved.LoadModel(backend);
            if (saved.Metadata.MigratedNormalization is { } moved)
                notes.Add($"input normalization ({moved}) moved into the model as a Normalize layer (the checkpoint predates it)");
            var session = new TrainingSession(modelName, network, optimizerConfig is null ? new Adam() : OptimizerConfig.Create(optimizerConfig),
                training?.State.DataSeed ?? network.Seed, batchSize) { Checkpoint = checkpoint, ResumeNotes = notes };
            if (training is not null)
            {
                session._trainer.RestoreCheckpoint(saved);
                if (overrides?.LearningRate is double lr) session._trainer.Optimizer.LearningRate = (float)lr;
            }
            return session;
        }
        catch (Exception ex) when (ex is CheckpointFormatException or IOException or UnauthorizedAccessException or ConvNetArgumentException)
        {
            network?.Dispose();
            throw CliException.CheckpointError(ex is CheckpointFormatException ? ex.Message : $"cannot restore {checkpoint}: {ex.Message}", ex);
        }
        catch
        {
            network?.Dispose();
            throw;
        }
    }

    /// <summary>What an explicit --lr or --batch-size changed on resuming (empty when nothing did).</summary>
    public IReadOnlyList<string> ResumeNotes { get; private init; } = [];

    /// <summary>
    /// Applies the options given explicitly with --resume. Honoured: --lr (a new rate for the rest of the run, e.g. to
    /// fine-tune) and --batch-size at an epoch boundary. Refused with exit code 2, because they cannot continue the saved
    /// run faithfully: another --optimizer (the saved moments belong to the saved type), --batch-size in the middle of
    /// an epoch (the saved position counts batches of the old size) and another --seed (it fixes the data order).
    /// </summary>
    private static (int BatchSize, JsonObject OptimizerConfig) ApplyOverrides(string checkpoint, TrainingCheckpointState t, ResumeOverrides o, List<string> notes)
    {
        int saved = t.State.BatchSize!.Value;
        if (o.Optimizer is string name && name != t.OptimizerType)
            throw CliException.UsageError($"--optimizer {name}: {checkpoint} was trained with {t.OptimizerType}, whose state cannot carry over to {name}. " +
                $"Drop --optimizer to continue with {t.OptimizerType}, or start a new run.");
        if (o.Seed is ulong seed && t.State.DataSeed is ulong dataSeed && seed != dataSeed)
            throw CliException.UsageError($"--seed {seed}: {checkpoint} was trained with seed {dataSeed}, which fixes its data order. Drop --seed to continue the run.");
        int batchSize = saved;
        if (o.BatchSize is int size && size != saved)
        {
            if (t.State.Batch > 0)
                throw CliException.UsageError($"--batch-size {size}: {checkpoint} stopped after batch {t.State.Batch} of epoch {t.State.Epoch + 1} with batch size {saved}, " +
                    $"and that epoch can only be finished with batch size {saved}. Drop --batch-size, or resume from a checkpoint written at the end of an epoch.");
            batchSize = size;
            notes.Add(FormattableString.Invariant($"batch size {size} from --batch-size (the checkpoint's was {saved})"));
        }
        var config = (JsonObject)t.OptimizerConfiguration.DeepClone();
        if (o.LearningRate is double lr)
        {
            config["learning_rate"] = (float)lr;
            notes.Add(FormattableString.Invariant($"lr {lr:G4} from --lr (the checkpoint's was {t.LearningRate:G4})"));
        }
        return (batchSize, config);
    }
}

/// <summary>The options given explicitly together with --resume (null when not given).</summary>
internal sealed record ResumeOverrides(double? LearningRate, string? Optimizer, int? BatchSize, ulong? Seed);
