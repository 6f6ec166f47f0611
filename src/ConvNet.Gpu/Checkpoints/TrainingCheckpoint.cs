using System.Globalization;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Training checkpoints: everything <see cref="ModelCheckpoint"/> writes, plus the optimizer's configuration, step count,
/// learning rate and per-parameter state (tensors "optim:&lt;parameter key&gt;:&lt;slot&gt;", for the trainable
/// parameters), the <see cref="TrainingState"/> and the <see cref="CheckpointMetadata"/>, in one atomic write. The
/// training layer calls this (<c>Trainer.SaveCheckpoint</c>); it knows nothing of trainers. Reading and restoring go
/// through <see cref="SavedCheckpoint"/>.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Writes model, optimizer, <paramref name="state"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="ConvNetArgumentException">The metadata is invalid (nothing is written).</exception>
    /// <exception cref="IOException">The file cannot be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static void Save(string path, Model model, Optimizer optimizer, TrainingState state, CheckpointMetadata? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        var content = ModelCheckpoint.Capture(model, ModelCheckpoint.TrainingKind);
        var named = OptimizedParameters(model);
        optimizer.EnsureState(named.Select(p => p.Parameter).ToList());
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < optimizer.SlotNames.Count; s++)
                content.Tensors[$"optim:{named[i].Key}:{optimizer.SlotNames[s]}"] = ModelCheckpoint.ToHost(optimizer.State[i][s]);
        var m = content.Metadata;
        m[ModelCheckpoint.OptimizerKey] = optimizer.GetConfig().ToJsonString();
        m[ModelCheckpoint.OptimizerStepsKey] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        m[ModelCheckpoint.LearningRateKey] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        TrainingCheckpointState.Write(state, m);
        (metadata ?? new CheckpointMetadata()).WriteTo(content);
        CheckpointFile.Write(path, content);
    }

    /// <summary>The parameters an optimizer updates (the trainable ones), with their checkpoint keys, in the model's order.</summary>
    internal static List<(string Key, Parameter Parameter)> OptimizedParameters(Model model)
    {
        var trainable = model.Parameters.ToHashSet();
        return model.NamedParameters.Where(p => trainable.Contains(p.Parameter)).ToList();
    }
}
