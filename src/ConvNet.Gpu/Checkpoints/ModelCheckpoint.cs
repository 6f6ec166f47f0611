using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
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
/// <item>for training checkpoints: tensors "optim:&lt;key&gt;:&lt;slot&gt;" (velocities or moments), and metadata with the optimizer's
/// configuration and step count, the epoch/batch/global step and the data-order seed.</item>
/// </list>
/// Restoring into a model of another architecture fails with a message naming the first difference.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary><see cref="CheckpointContent.Kind"/> of a model-only checkpoint.</summary>
    public const string ModelKind = "convnet.model";

    /// <summary><see cref="CheckpointContent.Kind"/> of a training checkpoint (model, optimizer, position).</summary>
    public const string TrainingKind = "convnet.training";

    private const string DropoutBlob = "rng.dropout";

    /// <summary>Writes the model (architecture, weights, running statistics, dropout RNG) to <paramref name="path"/>.</summary>
    public static void Save(string path, Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckpointFile.Write(path, Capture(model, ModelKind));
    }

    /// <summary>Writes everything needed to resume training exactly where <paramref name="trainer"/> stands.</summary>
    public static void Save(string path, Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var content = Capture(trainer.Model, TrainingKind);
        var opt = trainer.Optimizer;
        opt.EnsureState(trainer.Model.Parameters);
        var named = trainer.Model.NamedParameters;
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < opt.SlotNames.Count; s++)
                content.Tensors[$"optim:{named[i].Key}:{opt.SlotNames[s]}"] = ToHost(opt.State[i][s]);
        var m = content.Metadata;
        m["optimizer"] = opt.GetConfig().ToJsonString();
        m["optimizer_steps"] = Format(opt.StepCount);
        m["learning_rate"] = opt.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        m["epoch"] = Format(trainer.Position.Epoch);
        m["batch"] = Format(trainer.Position.Batch);
        m["global_step"] = Format(trainer.Position.GlobalStep);
        if (trainer.DataSeed is ulong seed) m["data_seed"] = seed.ToString(CultureInfo.InvariantCulture);
        CheckpointFile.Write(path, content);
    }

    /// <summary>Rebuilds a model from a checkpoint alone (architecture plus weights) on <paramref name="backend"/>.</summary>
    public static Sequential LoadModel(string path, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var content = CheckpointFile.Read(path);
        var architecture = Architecture(content, path);
        var model = Sequential.FromArchitecture(architecture, backend);
        try
        {
            ApplyModel(content, model, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Loads weights, running statistics and dropout RNG into an existing model of the same architecture.</summary>
    public static void LoadWeights(string path, Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var content = CheckpointFile.Read(path);
        ApplyModel(content, model, path);
    }

    /// <summary>
    /// Restores a training checkpoint into <paramref name="trainer"/> (a fresh model of the same architecture, an optimizer
    /// of the same type): weights, optimizer state and step count, dropout RNG, position and data seed. The next
    /// <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/> continues from the saved batch.
    /// </summary>
    public static void Restore(string path, Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var content = CheckpointFile.Read(path);
        if (content.Kind != TrainingKind)
            throw new CheckpointFormatException(path, $"expected a training checkpoint (kind \"{TrainingKind}\") to resume from, found kind \"{content.Kind}\" (a model-only checkpoint has no optimizer state or position)");
        var opt = trainer.Optimizer;
        var saved = JsonNode.Parse(Meta(content, "optimizer", path)) as JsonObject;
        string savedType = saved?["type"]?.GetValue<string>() ?? "?";
        if (savedType != opt.Name)
            throw new ConvNetArgumentException($"Checkpoint '{path}' was trained with optimizer '{savedType}' but the trainer uses '{opt.Name}'; resume with the same optimizer.");
        ApplyModel(content, trainer.Model, path);
        var named = trainer.Model.NamedParameters;
        opt.EnsureState(trainer.Model.Parameters);
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < opt.SlotNames.Count; s++)
                Upload(content, $"optim:{named[i].Key}:{opt.SlotNames[s]}", opt.State[i][s], path);
        opt.RestoreStepCount(ParseInt(content, "optimizer_steps", path));
        opt.LearningRate = float.Parse(Meta(content, "learning_rate", path), CultureInfo.InvariantCulture);
        trainer.Position = new TrainingPosition(ParseInt(content, "epoch", path), ParseInt(content, "batch", path),
            long.Parse(Meta(content, "global_step", path), CultureInfo.InvariantCulture));
        trainer.DataSeed = content.Metadata.TryGetValue("data_seed", out var ds) ? ulong.Parse(ds, CultureInfo.InvariantCulture) : null;
    }

    private static CheckpointContent Capture(Sequential model, string kind)
    {
        var content = new CheckpointContent(kind);
        content.Metadata["architecture"] = model.GetArchitecture().ToJsonString();
        content.Metadata["saved_on"] = model.Backend.Name;
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

    private static void ApplyModel(CheckpointContent content, Sequential model, string path)
    {
        if (content.Kind != ModelKind && content.Kind != TrainingKind)
            throw new CheckpointFormatException(path, $"expected a model checkpoint (kind \"{ModelKind}\" or \"{TrainingKind}\"), found kind \"{content.Kind}\"");
        CheckArchitecture(Architecture(content, path), model, path);
        foreach (var (key, p) in model.NamedParameters) Upload(content, "param:" + key, p.Value, path);
        foreach (var (key, s) in model.NamedState) Upload(content, "state:" + key, s.Value, path);
        var dropouts = model.DropoutLayers().ToList();
        if (!content.Blobs.TryGetValue(DropoutBlob, out var rng) || rng.Length != dropouts.Count * 16)
            throw new CheckpointFormatException(path, $"the dropout RNG state should hold {dropouts.Count} (seed, counter) pairs, found {(rng is null ? "none" : $"{rng.Length} bytes")}");
        for (int i = 0; i < dropouts.Count; i++)
        {
            dropouts[i].Layer.Seed = BinaryPrimitives.ReadUInt64LittleEndian(rng.AsSpan(i * 16));
            dropouts[i].Layer.Counter = BinaryPrimitives.ReadUInt64LittleEndian(rng.AsSpan(i * 16 + 8));
        }
    }

    private static JsonObject Architecture(CheckpointContent content, string path)
    {
        try
        {
            return JsonNode.Parse(Meta(content, "architecture", path)) as JsonObject
                ?? throw new CheckpointFormatException(path, "the architecture metadata is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"the architecture metadata is not valid JSON ({e.Message})");
        }
    }

    /// <summary>Compares the saved architecture with the model's and names the first difference.</summary>
    private static void CheckArchitecture(JsonObject saved, Sequential model, string path)
    {
        var current = model.GetArchitecture();
        string savedInput = saved["input_shape"]?.ToJsonString() ?? "?", currentInput = current["input_shape"]!.ToJsonString();
        if (savedInput != currentInput)
            throw new ConvNetArgumentException($"Checkpoint '{path}' is for input shape {savedInput} but model '{model.Name}' takes {currentInput}.");
        var a = saved["layers"] as JsonArray ?? [];
        var b = (JsonArray)current["layers"]!;
        for (int i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            string? sa = i < a.Count ? a[i]?.ToJsonString() : null;
            string? sb = i < b.Count ? b[i]?.ToJsonString() : null;
            if (sa == sb) continue;
            throw new ConvNetArgumentException(
                $"Checkpoint '{path}' holds a different architecture than model '{model.Name}': at layer {i} the checkpoint has " +
                $"{sa ?? "no layer"} but the model has {sb ?? "no layer"} ({a.Count} vs {b.Count} layers). " +
                "Rebuild the model from the checkpoint with ModelCheckpoint.LoadModel/Sequential.Load instead.");
        }
    }

    private static CheckpointTensor ToHost(Tensor t) => new(t.Shape.Dimensions.ToArray(), t.ToArray());

    private static void Upload(CheckpointContent content, string key, Tensor destination, string path)
    {
        if (!content.Tensors.TryGetValue(key, out var saved))
            throw new CheckpointFormatException(path, $"tensor '{key}' {destination.Shape} is missing");
        if (!saved.Dimensions.AsSpan().SequenceEqual(destination.Shape.Dimensions.AsSpan()))
            throw new CheckpointFormatException(path, $"tensor '{key}' has dimensions {saved} but the model expects {destination.Shape}");
        destination.Upload(saved.Data);
    }

    private static string Meta(CheckpointContent content, string key, string path) =>
        content.Metadata.TryGetValue(key, out var v) ? v : throw new CheckpointFormatException(path, $"metadata '{key}' is missing");

    private static int ParseInt(CheckpointContent content, string key, string path) =>
        int.TryParse(Meta(content, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new CheckpointFormatException(path, $"metadata '{key}' is not an integer: '{content.Metadata[key]}'");

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);
}
