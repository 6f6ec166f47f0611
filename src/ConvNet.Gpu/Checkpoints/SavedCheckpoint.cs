using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using static ConvNet.Gpu.Checkpoints.ModelCheckpoint;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// A checkpoint file read once and checked field by field before anything is built from it: the container
/// (magic, version, checksums), the kind, the architecture JSON, the <see cref="CheckpointMetadata"/>, every training
/// field (<see cref="TrainingCheckpointState"/>), the tensor names, and every stored value (weights, running statistics
/// and optimizer moments must be finite; variances and Adam's second moments non-negative). Building a model from it
/// checks each saved tensor's shape against the architecture before that tensor is allocated, so memory is bounded by
/// what the file holds. Every problem is a <see cref="CheckpointFormatException"/> naming the file and the field.
/// </summary>
public sealed class SavedCheckpoint
{
    private const string ParamPrefix = "param:", StatePrefix = "state:", OptimPrefix = "optim:";

    private readonly CheckpointContent _content;
    private readonly JsonObject _architecture;

    private SavedCheckpoint(string path, CheckpointContent content, JsonObject architecture, CheckpointMetadata metadata, TrainingCheckpointState? training)
    {
        Path = path;
        _content = content;
        _architecture = architecture;
        Metadata = metadata;
        Training = training;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary><see cref="ModelCheckpoint.ModelKind"/> or <see cref="ModelCheckpoint.TrainingKind"/>.</summary>
    public string Kind => _content.Kind;

    /// <summary>Model name, input normalization and application entries.</summary>
    public CheckpointMetadata Metadata { get; }

    /// <summary>The training fields, or null for a model-only checkpoint.</summary>
    public TrainingCheckpointState? Training { get; }

    /// <summary>The saved architecture (a copy), as <see cref="Model.GetArchitecture"/> wrote it.</summary>
    public JsonObject Architecture => (JsonObject)_architecture.DeepClone();

    /// <summary>Reads and checks the checkpoint at <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint; the message names the first problem.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SavedCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromContent(CheckpointFile.Read(path), path);
    }

    /// <summary>Checks already-read <paramref name="content"/> as <see cref="Read"/> does.</summary>
    public static SavedCheckpoint FromContent(CheckpointContent content, string path)
    {
        ArgumentNullException.ThrowIfNull(content);
        bool training = content.Kind == TrainingKind;
        if (!training && content.Kind != ModelKind)
            throw Fail(path, $"expected a model checkpoint (kind \"{ModelKind}\" or \"{TrainingKind}\"), found kind \"{CheckpointMetadata.Shorten(content.Kind)}\"");
        var architecture = ReadArchitecture(content, path);
        var metadata = NormalizationMigration.Apply(content, architecture, CheckpointMetadata.Read(content, path), path);
        var state = training ? TrainingCheckpointState.Read(content, path) : null;
        CheckTensors(content, path, training);
        foreach (var (name, blob) in content.Blobs)
        {
            if (name != DropoutBlob) throw Fail(path, $"unexpected blob '{CheckpointMetadata.Shorten(name)}'");
            if (blob.Length % 16 != 0) throw Fail(path, $"blob '{DropoutBlob}' must hold (seed, counter) pairs of 16 bytes, found {blob.Length} bytes");
        }
        return new SavedCheckpoint(path, content, architecture, metadata, state);
    }

    /// <summary>
    /// Builds the saved model on <paramref name="backend"/> and loads its weights, running statistics and dropout RNG.
    /// Each parameter's shape is checked against the saved tensors before it is allocated.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The architecture is invalid or does not match the saved tensors.</exception>
    public Model LoadModel(IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Model model;
        using (BuildGuard.Begin(Saved(ParamPrefix), Saved(StatePrefix)))
        {
            try
            {
                model = Model.FromArchitecture(Architecture, backend);
            }
            catch (Exception e) when (e is ConvNetArgumentException or OverflowException or InvalidOperationException or FormatException or JsonException)
            {
                throw Fail(Path, $"the saved architecture cannot be built: {e.Message}");
            }
        }
        try
        {
            Apply(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Loads weights, running statistics and dropout RNG into <paramref name="model"/>, which must have the saved architecture.</summary>
    /// <exception cref="ConvNetArgumentException">The model's architecture differs (the message names the first difference).</exception>
    /// <exception cref="CheckpointFormatException">A saved tensor is missing or has another shape.</exception>
    public void LoadWeights(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckArchitecture(model);
        Apply(model);
    }

    /// <summary>
    /// Restores a training checkpoint into <paramref name="model"/> (of the saved architecture) and
    /// <paramref name="optimizer"/> (of the saved type): weights, running statistics, dropout RNG, optimizer state, step
    /// count and learning rate. Returns the training fields (position, batch size, data seed, divergence references)
    /// for the caller (the trainer) to take over.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is a model-only checkpoint, or a tensor does not fit.</exception>
    /// <exception cref="ConvNetArgumentException">The optimizer or the model differs from the saved ones.</exception>
    public TrainingCheckpointState RestoreTraining(Model model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (Training is not { } t)
            throw Fail(Path, $"expected a training checkpoint (kind \"{TrainingKind}\") to resume from, found kind \"{Kind}\" (a model-only checkpoint has no optimizer state or position)");
        if (t.OptimizerType != optimizer.Name)
            throw new ConvNetArgumentException($"Checkpoint '{Path}' was trained with optimizer '{t.OptimizerType}' but the trainer uses '{optimizer.Name}'; resume with the same optimizer.");
        if (t.State.Batch > 0 && t.State.BatchSize is null)
            throw Fail(Path, $"it stopped after batch {t.State.Batch} of an epoch but does not record the batch size those batches had, so the run cannot continue that epoch");
        LoadWeights(model);
        var named = TrainingCheckpoint.OptimizedParameters(model);
        optimizer.EnsureState(named.Select(p => p.Parameter).ToList());
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < named.Count; i++)
            for (int s = 0; s < optimizer.SlotNames.Count; s++)
            {
                string key = $"{OptimPrefix}{named[i].Key}:{optimizer.SlotNames[s]}";
                expected.Add(key);
                Upload(key, optimizer.State[i][s]);
            }
        CheckNoExtra(OptimPrefix, expected);
        optimizer.RestoreStepCount(t.OptimizerSteps);
        optimizer.LearningRate = t.LearningRate;
        return t;
    }

    private IEnumerable<(string, int[])> Saved(string prefix) =>
        _content.Tensors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(e => (e.Key[prefix.Length..], e.Value.Dimensions));

    private void Apply(Model model)
    {
        var parameterKeys = new HashSet<string>(StringComparer.Ordinal);
        var stateKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, p) in model.NamedParameters) { parameterKeys.Add(ParamPrefix + key); Upload(ParamPrefix + key, p.Value); }
        foreach (var (key, s) in model.NamedState) { stateKeys.Add(StatePrefix + key); Upload(StatePrefix + key, s.Value); }
        CheckNoExtra(ParamPrefix, parameterKeys);
        CheckNoExtra(StatePrefix, stateKeys);
        var dropouts = model.DropoutLayers().ToList();
        if (!_content.Blobs.TryGetValue(DropoutBlob, out var rng) || rng.Length != dropouts.Count * 16)
            throw Fail(Path, $"the dropout RNG state should hold {dropouts.Count} (seed, counter) pairs, found {(rng is null ? "none" : $"{rng.Length} bytes")}");
        for (int i = 0; i < dropouts.Count; i++)
        {
            dropouts[i].Layer.Seed = BinaryPrimitives.ReadUInt64LittleEndian(rng.AsSpan(i * 16));
            dropouts[i].Layer.Counter = BinaryPrimitives.ReadUInt64LittleEndian(rng.AsSpan(i * 16 + 8));
        }
    }

    private void CheckNoExtra(string prefix, HashSet<string> expected)
    {
        foreach (var key in _content.Tensors.Keys)
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !expected.Contains(key))
                throw Fail(Path, $"tensor '{CheckpointMetadata.Shorten(key)}' belongs to no {(prefix == OptimPrefix ? "optimizer slot" : "layer")} of the saved architecture");
    }

    private void Upload(string key, Tensor destination)
    {
        if (!_content.Tensors.TryGetValue(key, out var saved))
            throw Fail(Path, $"tensor '{key}' {destination.Shape} is missing");
        if (!saved.Dimensions.AsSpan().SequenceEqual(destination.Shape.Dimensions.AsSpan()))
            throw Fail(Path, $"tensor '{key}' has dimensions {saved} but the model expects {destination.Shape}");
        destination.Upload(saved.Data);
    }

    /// <summary>Compares the saved architecture with the model's and names the first difference.</summary>
    private void CheckArchitecture(Model model)
    {
        var current = model.GetArchitecture();
        string savedFormat = _architecture["format"]?.ToJsonString() ?? "?", currentFormat = current["format"]!.ToJsonString();
        if (savedFormat != currentFormat)
            throw new ConvNetArgumentException($"Checkpoint '{Path}' holds a model of format {savedFormat} but model '{model.Name}' is {currentFormat}.");
        string savedInput = InputShapes(_architecture), currentInput = InputShapes(current);
        if (savedInput != currentInput)
            throw new ConvNetArgumentException($"Checkpoint '{Path}' is for input shape {savedInput} but model '{model.Name}' takes {currentInput}.");
        var a = _architecture["layers"] as JsonArray ?? [];
        var b = (JsonArray)current["layers"]!;
        for (int i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            string? sa = i < a.Count ? a[i]?.ToJsonString() : null;
            string? sb = i < b.Count ? b[i]?.ToJsonString() : null;
            if (sa == sb) continue;
            throw new ConvNetArgumentException(
                $"Checkpoint '{Path}' holds a different architecture than model '{model.Name}': at layer {i} the checkpoint has " +
                $"{sa ?? "no layer"} but the model has {sb ?? "no layer"} ({a.Count} vs {b.Count} layers). " +
                "Rebuild the model from the checkpoint with ModelCheckpoint.LoadModel/Sequential.Load instead.");
        }
        foreach (string key in new[] { "nodes", "outputs" })
        {
            string sa = _architecture[key]?.ToJsonString() ?? "none", sb = current[key]?.ToJsonString() ?? "none";
            if (sa != sb)
                throw new ConvNetArgumentException(
                    $"Checkpoint '{Path}' holds a differently connected graph than model '{model.Name}': its {key} are {sa} but the model's are {sb}.");
        }
    }

    // A sequential model's "input_shape", or the shapes of a graph's "inputs", as comparable text.
    private static string InputShapes(JsonObject architecture) =>
        architecture["input_shape"]?.ToJsonString()
        ?? (architecture["inputs"] is JsonArray inputs ? string.Join(", ", inputs.Select(i => i?["shape"]?.ToJsonString() ?? "?")) : "?");

    private static JsonObject ReadArchitecture(CheckpointContent content, string path)
    {
        if (!content.Metadata.TryGetValue(ArchitectureKey, out string? text)) throw Fail(path, $"metadata '{ArchitectureKey}' is missing");
        JsonObject? o;
        try
        {
            o = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject;
        }
        catch (JsonException e)
        {
            throw Fail(path, $"the architecture metadata is not valid JSON ({e.Message})");
        }
        if (o is null) throw Fail(path, "the architecture metadata is not a JSON object");
        if (o["layers"] is not JsonArray layers || layers.Any(l => l is not JsonObject))
            throw Fail(path, "the architecture metadata needs \"layers\" as an array of objects");
        return o;
    }

    /// <summary>Names are known, and every value is finite (variances and second moments also non-negative).</summary>
    private static void CheckTensors(CheckpointContent content, string path, bool training)
    {
        foreach (var (name, tensor) in content.Tensors)
        {
            bool known = name.StartsWith(ParamPrefix, StringComparison.Ordinal) || name.StartsWith(StatePrefix, StringComparison.Ordinal)
                || (training && name.StartsWith(OptimPrefix, StringComparison.Ordinal));
            if (!known) throw Fail(path, $"unexpected tensor '{CheckpointMetadata.Shorten(name)}' in a \"{content.Kind}\" checkpoint");
            bool nonNegative = name.EndsWith("running_var", StringComparison.Ordinal) || (name.StartsWith(OptimPrefix, StringComparison.Ordinal) && name.EndsWith(":v", StringComparison.Ordinal));
            var data = tensor.Data;
            for (int i = 0; i < data.Length; i++)
            {
                float v = data[i];
                if (!float.IsFinite(v) || (nonNegative && v < 0))
                    throw Fail(path, $"tensor '{CheckpointMetadata.Shorten(name)}' {tensor} holds {v} at flat index {i}; " +
                        (nonNegative ? "its values must be finite and non-negative" : "its values must be finite"));
            }
        }
    }

    private static CheckpointFormatException Fail(string path, string problem) => new(path, problem);
}
