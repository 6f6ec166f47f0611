using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Where a training run stands, as a training checkpoint records it next to the weights and the optimizer state.
/// </summary>
/// <param name="Epoch">The current epoch (0-based).</param>
/// <param name="Batch">Batches already completed in that epoch.</param>
/// <param name="GlobalStep">Batches completed since training started.</param>
/// <param name="DataSeed">The data-order seed in use, or null when none was fixed yet.</param>
public sealed record TrainingState(int Epoch, int Batch, long GlobalStep, ulong? DataSeed);

/// <summary>
/// Training checkpoints: everything <see cref="ModelCheckpoint"/> writes, plus the optimizer's configuration, step count,
/// learning rate and per-parameter state (tensors "optim:&lt;parameter key&gt;:&lt;slot&gt;"), the <see cref="TrainingState"/>,
/// and any caller metadata, in one atomic write. The training layer calls this; it knows nothing of trainers.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>
    /// Writes model, optimizer and <paramref name="state"/> to <paramref name="path"/> atomically. Entries of
    /// <paramref name="metadata"/> are stored as they are (use keys of your own, e.g. "myapp.run"); a key the checkpoint
    /// itself writes (architecture, optimizer, epoch...) is refused.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">A metadata key collides with one the checkpoint writes.</exception>
    /// <exception cref="IOException">The file cannot be written; an existing file is left as it was.</exception>
    public static void Save(string path, Model model, Optimizer optimizer, TrainingState state,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        var content = ModelCheckpoint.Capture(model, ModelCheckpoint.TrainingKind);
        var named = TrainableNamed(model);
        optimizer.EnsureState(named.Select(p => p.Parameter).ToList());
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < optimizer.SlotNames.Count; s++)
                content.Tensors[$"optim:{named[i].Key}:{optimizer.SlotNames[s]}"] = ModelCheckpoint.ToHost(optimizer.State[i][s]);
        var m = content.Metadata;
        m["optimizer"] = optimizer.GetConfig().ToJsonString();
        m["optimizer_steps"] = Format(optimizer.StepCount);
        m["learning_rate"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        m["epoch"] = Format(state.Epoch);
        m["batch"] = Format(state.Batch);
        m["global_step"] = Format(state.GlobalStep);
        if (state.DataSeed is ulong seed) m["data_seed"] = seed.ToString(CultureInfo.InvariantCulture);
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                if (m.ContainsKey(key))
                    throw new ConvNetArgumentException($"Checkpoint metadata key '{key}' is written by the checkpoint itself; choose another key.", nameof(metadata));
                m[key] = value;
            }
        }
        CheckpointFile.Write(path, content);
    }

    /// <summary>
    /// Restores a training checkpoint into <paramref name="model"/> (a fresh model of the same architecture) and
    /// <paramref name="optimizer"/> (of the same type): weights, running statistics, dropout RNG, optimizer state, step
    /// count and learning rate. Returns where training stood.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is not a training checkpoint or an entry is missing or malformed.</exception>
    /// <exception cref="ConvNetArgumentException">The architecture or the optimizer type differs (the message names which).</exception>
    public static TrainingState Restore(string path, Model model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        var content = CheckpointFile.Read(path);
        if (content.Kind != ModelCheckpoint.TrainingKind)
            throw new CheckpointFormatException(path, $"expected a training checkpoint (kind \"{ModelCheckpoint.TrainingKind}\") to resume from, found kind \"{content.Kind}\" (a model-only checkpoint has no optimizer state or position)");
        var saved = JsonNode.Parse(ModelCheckpoint.Meta(content, "optimizer", path)) as JsonObject;
        string savedType = saved?["type"]?.GetValue<string>() ?? "?";
        if (savedType != optimizer.Name)
            throw new ConvNetArgumentException($"Checkpoint '{path}' was trained with optimizer '{savedType}' but the trainer uses '{optimizer.Name}'; resume with the same optimizer.");
        ModelCheckpoint.ApplyModel(content, model, path);
        var named = TrainableNamed(model);
        optimizer.EnsureState(named.Select(p => p.Parameter).ToList());
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < optimizer.SlotNames.Count; s++)
                ModelCheckpoint.Upload(content, $"optim:{named[i].Key}:{optimizer.SlotNames[s]}", optimizer.State[i][s], path);
        optimizer.RestoreStepCount(ParseInt(content, "optimizer_steps", path));
        optimizer.LearningRate = float.Parse(ModelCheckpoint.Meta(content, "learning_rate", path), CultureInfo.InvariantCulture);
        return new TrainingState(ParseInt(content, "epoch", path), ParseInt(content, "batch", path),
            long.Parse(ModelCheckpoint.Meta(content, "global_step", path), CultureInfo.InvariantCulture),
            content.Metadata.TryGetValue("data_seed", out var ds) ? ulong.Parse(ds, CultureInfo.InvariantCulture) : null);
    }

    // The parameters an optimizer updates, with their checkpoint keys, in the model's order.
    private static List<(string Key, Parameters.Parameter Parameter)> TrainableNamed(Model model)
    {
        var trainable = model.Parameters.ToHashSet();
        return model.NamedParameters.Where(p => trainable.Contains(p.Parameter)).ToList();
    }

    private static int ParseInt(CheckpointContent content, string key, string path) =>
        int.TryParse(ModelCheckpoint.Meta(content, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new CheckpointFormatException(path, $"metadata '{key}' is not an integer: '{content.Metadata[key]}'");

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);
}
