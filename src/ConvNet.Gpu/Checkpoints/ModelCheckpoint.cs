using System.Buffers.Binary;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// What goes into a model checkpoint, and how models are restored from one. Files use the <see cref="CheckpointFile"/>
/// container (versioned header, checksum, atomic write). Contents:
/// <list type="bullet">
/// <item>metadata "architecture": the model's JSON (<see cref="Model.GetArchitecture"/>, a graph or a sequential model), so the model can be rebuilt from the file alone;</item>
/// <item>tensors "param:&lt;key&gt;" and "state:&lt;key&gt;": every weight and running statistic as host float32 arrays (device independent);</item>
/// <item>blob "rng.dropout": each dropout layer's (seed, counter) as little-endian u64 pairs, in model order;</item>
/// <item>the <see cref="CheckpointMetadata"/> bag: model name, input normalization, application entries.</item>
/// </list>
/// <see cref="TrainingCheckpoint"/> adds the optimizer and the position for resuming. Each file is written once,
/// completely, with everything in it: there is no read-modify-write. Reading goes through <see cref="SavedCheckpoint"/>,
/// which reads the file once and validates it before anything is built.
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
    public static void Save(string path, Model model, CheckpointMetadata? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var content = Capture(model, ModelKind);
        (metadata ?? new CheckpointMetadata()).WriteTo(content);
        CheckpointFile.Write(path, content);
    }

    /// <summary>Rebuilds a model of any kind from a checkpoint alone (architecture plus weights) on <paramref name="backend"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, inconsistent or not a model checkpoint.</exception>
    public static Model LoadModel(string path, IBackend backend) => SavedCheckpoint.Read(path).LoadModel(backend);

    /// <summary>Loads weights, running statistics and dropout RNG into an existing model of the same architecture.</summary>
    /// <exception cref="ConvNetArgumentException">The checkpoint holds another architecture (the message names the first difference).</exception>
    public static void LoadWeights(string path, Model model) => SavedCheckpoint.Read(path).LoadWeights(model);

    /// <summary>The <see cref="CheckpointMetadata"/> of the checkpoint at <paramref name="path"/>.</summary>
    public static CheckpointMetadata ReadMetadata(string path) => SavedCheckpoint.Read(path).Metadata;

    /// <summary>The model part of a checkpoint of kind <paramref name="kind"/>: architecture, weights, state and dropout RNG.</summary>
    internal static CheckpointContent Capture(Model model, string kind)
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

    /// <summary>A device tensor copied to the host with its dimensions.</summary>
    internal static CheckpointTensor ToHost(Tensor t) => new(t.Shape.Dimensions.ToArray(), t.ToArray());
}
