using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// What goes into a model or training checkpoint, and how models, optimizers and trainers are restored from one.
/// Files use the <see cref="CheckpointFile"/> container (versioned header, checksum, atomic write). Contents:
/// <list type="bullet">
/// <item>metadata "architecture": the model's JSON (<see cref="Sequential.GetArchitecture"/>), so the model can be rebuilt from the file alone;</item>
/// <item>tensors "param:&lt;key&gt;" and "state:&lt;key&gt;": every weight and running statistic as host float32 arrays (device independent);</item>
/// <item>blob "rng.dropout": each dropout layer's (seed, counter) as little-endian u64 pairs, in model order;</item>
/// <item>the <see cref="CheckpointMetadata"/> bag: model name, input normalization, application entries;</item>
/// <item>for training checkpoints: tensors "optim:&lt;key&gt;:&lt;slot&gt;" (velocities or moments), and metadata with the optimizer's
/// configuration and step count, the epoch/batch/global step, the batch size, the data-order seed and the divergence references.</item>
/// </list>
/// Each file is written once, completely, with everything in it: there is no read-modify-write. Reading goes through
/// <see cref="SavedCheckpoint"/>, which reads the file once and validates it before anything is built.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary><see cref="CheckpointContent.Kind"/> of a model-only checkpoint.</summary>
    public const string ModelKind = "convnet.model";

    /// <summary><see cref="CheckpointContent.Kind"/> of a training checkpoint (model, optimizer, position).</summary>
    public const string TrainingKind = "convnet.training";

    internal const string DropoutBlob = "rng.dropout", ArchitectureKey = "architecture", SavedOnKey = "saved_on";
    internal const string OptimizerKey = "optimizer", OptimizerStepsKey = "optimizer_steps", LearningRateKey = "learning_rate";
    internal const string EpochKey = "epoch", BatchKey = "batch", GlobalStepKey = "global_step", BatchSizeKey = "batch_size";
    internal const string DataSeedKey = "data_seed", DivergenceKey = "divergence";

    /// <summary>
    /// Writes the model (architecture, weights, running statistics, dropout RNG) and <paramref name="metadata"/> to
    /// <paramref name="path"/> in one atomic write.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The metadata is invalid (nothing is written).</exception>
    /// <exception cref="IOException">The file cannot be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static void Save(string path, Sequential model, CheckpointMetadata? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var content = Capture(model, ModelKind);
        (metadata ?? new CheckpointMetadata()).WriteTo(content);
        CheckpointFile.Write(path, content);
    }

    /// <summary>
    /// Writes everything needed to resume training exactly where <paramref name="trainer"/> stands, plus
    /// <paramref name="metadata"/>, in one atomic write. The input normalization is the trainer's
    /// (<see cref="Trainer.InputNormalization"/>) unless the bag gives it; when both give one they must agree.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The metadata is invalid or contradicts the trainer (nothing is written).</exception>
    /// <exception cref="IOException">The file cannot be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static void Save(string path, Trainer trainer, CheckpointMetadata? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        metadata ??= new CheckpointMetadata();
        if (metadata.InputNormalization is { } given && trainer.InputNormalization is { } used && !given.Equals(used))
            throw new ConvNetArgumentException(
                $"The checkpoint metadata gives input normalization ({given}) but the trainer's run uses ({used}); a checkpoint must record the one its weights were trained with.");
        var content = Capture(trainer.Model, TrainingKind);
        var opt = trainer.Optimizer;
        opt.EnsureState(trainer.Model.Parameters);
        var named = trainer.Model.NamedParameters;
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < opt.SlotNames.Count; s++)
                content.Tensors[$"optim:{named[i].Key}:{opt.SlotNames[s]}"] = ToHost(opt.State[i][s]);
        var m = content.Metadata;
        m[OptimizerKey] = opt.GetConfig().ToJsonString();
        m[OptimizerStepsKey] = Format(opt.StepCount);
        m[LearningRateKey] = opt.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        m[EpochKey] = Format(trainer.Position.Epoch);
        m[BatchKey] = Format(trainer.Position.Batch);
        m[GlobalStepKey] = Format(trainer.Position.GlobalStep);
        if (trainer.BatchSize is int batchSize) m[BatchSizeKey] = Format(batchSize);
        if (trainer.DataSeed is ulong seed) m[DataSeedKey] = seed.ToString(CultureInfo.InvariantCulture);
        var d = trainer.Divergence;
        if (d.StartLoss is not null || d.BestEpochAccuracy is not null)
            m[DivergenceKey] = new JsonObject { ["start_loss"] = d.StartLoss, ["best_epoch_accuracy"] = d.BestEpochAccuracy }.ToJsonString();
        (metadata with { InputNormalization = metadata.InputNormalization ?? trainer.InputNormalization }).WriteTo(content);
        CheckpointFile.Write(path, content);
    }

    /// <summary>Rebuilds a model from a checkpoint alone (architecture plus weights) on <paramref name="backend"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, inconsistent or not a model checkpoint.</exception>
    public static Sequential LoadModel(string path, IBackend backend) => SavedCheckpoint.Read(path).LoadModel(backend);

    /// <summary>Loads weights, running statistics and dropout RNG into an existing model of the same architecture.</summary>
    public static void LoadWeights(string path, Sequential model) => SavedCheckpoint.Read(path).LoadWeights(model);

    /// <summary>
    /// Restores a training checkpoint into <paramref name="trainer"/> (a fresh model of the same architecture, an optimizer
    /// of the same type): weights, optimizer state and step count, dropout RNG, position, batch size, input
    /// normalization, data seed and divergence references. The next <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/>
    /// continues from the saved batch.
    /// </summary>
    public static void Restore(string path, Trainer trainer) => SavedCheckpoint.Read(path).Restore(trainer);

    /// <summary>The <see cref="CheckpointMetadata"/> of the checkpoint at <paramref name="path"/>.</summary>
    public static CheckpointMetadata ReadMetadata(string path) => SavedCheckpoint.Read(path).Metadata;

    private static CheckpointContent Capture(Sequential model, string kind)
    {
        var content = new CheckpointContent(kind);
        content.Metadata[ArchitectureKey] = model.GetArchitecture().ToJsonString();
        content.Metadata[SavedOnKey] = model.Backend.Name;
        foreach (var (key, p) in model.NamedParameters) content.Tensors["param:" + key] = ToHost(p.Value);
        foreach (var (key, s) in model.NamedState) content.Tensors["state:" + key] = ToHost(s.Value);
        var dropouts = model.DropoutLayers().ToList();
        var rng = new byte[dropouts.Count * 16];
        for (int i = 0; i < dropouts.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(rng.AsSpan(i * 16), dropouts[i].Layer.Seed);
            BinaryPrimitives.WriteUInt64LittleEndian(rng.AsSpan(i * 16 + 8), dropouts[i].Layer.Counter);
        }
        content.Blobs[DropoutBlob] = rng;
        return content;
    }

    private static CheckpointTensor ToHost(Tensor t) => new(t.Shape.Dimensions.ToArray(), t.ToArray());

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);
}
