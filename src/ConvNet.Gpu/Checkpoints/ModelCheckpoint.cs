using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// What goes into a model checkpoint, and how models are restored from one. Files use the <see cref="CheckpointFile"/>
/// container (versioned header, checksum, atomic write). Contents:
/// <list type="bullet">
/// <item>metadata "architecture": the model's JSON (<see cref="Model.GetArchitecture"/>), so the model can be rebuilt from the file alone;</item>
/// <item>tensors "param:&lt;key&gt;" and "state:&lt;key&gt;": every weight and running statistic as host float32 arrays (device independent);</item>
/// <item>blob "rng.dropout": each dropout layer's (seed, counter) as little-endian u64 pairs, in model order.</item>
/// </list>
/// <see cref="TrainingCheckpoint"/> adds the optimizer and the position for resuming. Restoring into a model of another
/// architecture fails with a message naming the first difference.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary><see cref="CheckpointContent.Kind"/> of a model-only checkpoint.</summary>
    public const string ModelKind = "convnet.model";

    /// <summary><see cref="CheckpointContent.Kind"/> of a training checkpoint (model, optimizer, position).</summary>
    public const string TrainingKind = "convnet.training";

    private const string DropoutBlob = "rng.dropout";

    /// <summary>Writes the model (architecture, weights, running statistics, dropout RNG) to <paramref name="path"/>, atomically.</summary>
    /// <exception cref="IOException">The file cannot be written; an existing file is left as it was.</exception>
    public static void Save(string path, Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckpointFile.Write(path, Capture(model, ModelKind));
    }

    /// <summary>Rebuilds a model from a checkpoint alone (architecture plus weights) on <paramref name="backend"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable model checkpoint.</exception>
    public static Model LoadModel(string path, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var content = CheckpointFile.Read(path);
        var model = Model.FromArchitecture(Architecture(content, path), backend);
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
    /// <exception cref="ConvNetArgumentException">The checkpoint holds another architecture (the message names the first difference).</exception>
    public static void LoadWeights(string path, Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var content = CheckpointFile.Read(path);
        ApplyModel(content, model, path);
    }

    /// <summary>The model part of a checkpoint of kind <paramref name="kind"/>: architecture, weights, state and dropout RNG.</summary>
    internal static CheckpointContent Capture(Model model, string kind)
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

    /// <summary>Uploads the model part of <paramref name="content"/> into <paramref name="model"/> after checking the architecture.</summary>
    internal static void ApplyModel(CheckpointContent content, Model model, string path)
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
    private static void CheckArchitecture(JsonObject saved, Model model, string path)
    {
        var current = model.GetArchitecture();
        string savedFormat = saved["format"]?.ToJsonString() ?? "?", currentFormat = current["format"]!.ToJsonString();
        if (savedFormat != currentFormat)
            throw new ConvNetArgumentException($"Checkpoint '{path}' holds a model of format {savedFormat} but model '{model.Name}' is {currentFormat}.");
        string savedInput = InputShapes(saved), currentInput = InputShapes(current);
        if (savedInput != currentInput)
            throw new ConvNetArgumentException($"Checkpoint '{path}' is for input shape {savedInput} but model '{model.Name}' takes {currentInput}.");
        var a = saved["layers"] as JsonArray ?? [];
        var b = current["layers"] as JsonArray ?? [];
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
        foreach (string key in new[] { "nodes", "outputs" })
        {
            string sa = saved[key]?.ToJsonString() ?? "none", sb = current[key]?.ToJsonString() ?? "none";
            if (sa != sb)
                throw new ConvNetArgumentException(
                    $"Checkpoint '{path}' holds a differently connected graph than model '{model.Name}': its {key} are {sa} but the model's are {sb}.");
        }
    }

    // A sequential model's "input_shape", or the shapes of a graph's "inputs", as comparable text.
    private static string InputShapes(JsonObject architecture) =>
        architecture["input_shape"]?.ToJsonString()
        ?? (architecture["inputs"] is JsonArray inputs ? string.Join(", ", inputs.Select(i => i?["shape"]?.ToJsonString() ?? "?")) : "?");

    /// <summary>A device tensor copied to the host with its dimensions.</summary>
    internal static CheckpointTensor ToHost(Tensor t) => new(t.Shape.Dimensions.ToArray(), t.ToArray());

    /// <summary>Uploads tensor <paramref name="key"/> of <paramref name="content"/> into <paramref name="destination"/>, checking its dimensions.</summary>
    internal static void Upload(CheckpointContent content, string key, Tensor destination, string path)
    {
        if (!content.Tensors.TryGetValue(key, out var saved))
            throw new CheckpointFormatException(path, $"tensor '{key}' {destination.Shape} is missing");
        if (!saved.Dimensions.AsSpan().SequenceEqual(destination.Shape.Dimensions.AsSpan()))
            throw new CheckpointFormatException(path, $"tensor '{key}' has dimensions {saved} but the model expects {destination.Shape}");
        destination.Upload(saved.Data);
    }

    /// <summary>Metadata entry <paramref name="key"/>, or a format error naming it.</summary>
    internal static string Meta(CheckpointContent content, string key, string path) =>
        content.Metadata.TryGetValue(key, out var v) ? v : throw new CheckpointFormatException(path, $"metadata '{key}' is missing");
}
