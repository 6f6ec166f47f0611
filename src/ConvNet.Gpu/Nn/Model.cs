using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A network of built layers on one backend: what it takes (<see cref="InputShapes"/>), what it gives
/// (<see cref="OutputShapes"/>), its layers and parameters, and the forward and backward passes. A model is a container
/// only: training steps, fitting, evaluation and prediction live in <c>ConvNet.Gpu.Training</c>, saving and loading in
/// <c>ConvNet.Gpu.Checkpoints</c>. <see cref="Sequential"/> is the stack-of-layers model.
/// </summary>
/// <remarks>
/// Tensors returned by <see cref="Forward(Tensor, bool)"/> belong to the model's layers and stay valid until the next
/// forward pass. Every parameter list has a fixed order (the order of <see cref="Layers"/>, then each layer's own
/// order), which optimizers and checkpoints rely on.
/// </remarks>
public abstract class Model : IDisposable
{
    private List<(string Key, Parameter Parameter)>? _namedParameters;
    private List<(string Key, StateTensor State)>? _namedState;
    private bool _anomalyDetection;

    /// <summary>Creates the model shell.</summary>
    /// <param name="backend">Where parameters live and ops run.</param>
    /// <param name="seed">Seed of every layer's initializer.</param>
    /// <param name="name">Name shown in summaries and saved with the architecture.</param>
    protected Model(IBackend backend, ulong seed, string name)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(name);
        Backend = backend;
        Seed = seed;
        Name = name;
    }

    /// <summary>The backend every parameter lives on.</summary>
    public IBackend Backend { get; }

    /// <summary>The initialization seed (layer i draws from a stream derived from it).</summary>
    public ulong Seed { get; }

    /// <summary>The model's name.</summary>
    public string Name { get; set; }

    /// <summary>Per-sample shape of each input, in input order (no batch dimension).</summary>
    public abstract IReadOnlyList<TensorShape> InputShapes { get; }

    /// <summary>Per-sample shape of each output, in output order.</summary>
    public abstract IReadOnlyList<TensorShape> OutputShapes { get; }

    /// <summary>Per-sample shape of the only input.</summary>
    /// <exception cref="InvalidOperationException">The model has several inputs (use <see cref="InputShapes"/>).</exception>
    public TensorShape InputShape => InputShapes.Count == 1 ? InputShapes[0]
        : throw new InvalidOperationException($"Model '{Name}' has {InputShapes.Count} inputs; use InputShapes.");

    /// <summary>Per-sample shape of the only output.</summary>
    /// <exception cref="InvalidOperationException">The model has several outputs (use <see cref="OutputShapes"/>).</exception>
    public TensorShape OutputShape => OutputShapes.Count == 1 ? OutputShapes[0]
        : throw new InvalidOperationException($"Model '{Name}' has {OutputShapes.Count} outputs; use OutputShapes.");

    /// <summary>Every layer of the model once (a shared layer appears once), in the order they were built.</summary>
    public abstract IReadOnlyList<Layer> Layers { get; }

    /// <summary>The layer whose output is model output <paramref name="index"/>, or null when that output is a model input.</summary>
    public abstract Layer? OutputLayer(int index);

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed { get; private set; }

    /// <summary>Every trainable parameter in a fixed order (layer by layer), as optimizers see them.</summary>
    public IReadOnlyList<Parameter> Parameters => NamedParameters.Select(p => p.Parameter).ToList();

    /// <summary>Every parameter with a stable key such as "0:conv2d_1/weight" (used by checkpoints).</summary>
    public IReadOnlyList<(string Key, Parameter Parameter)> NamedParameters
    {
        get
        {
            if (_namedParameters is null)
            {
                var parameters = new List<(string, Parameter)>();
                var state = new List<(string, StateTensor)>();
                var layers = Layers;
                for (int i = 0; i < layers.Count; i++) Collect(layers[i], $"{i}:{layers[i].Name}", parameters, state);
                _namedParameters = parameters;
                _namedState = state;
            }
            return _namedParameters;
        }
    }

    /// <summary>Every non-trainable state tensor with a stable key (e.g. "3:batchnorm2d_1/running_mean").</summary>
    public IReadOnlyList<(string Key, StateTensor State)> NamedState
    {
        get
        {
            _ = NamedParameters;
            return _namedState!;
        }
    }

    /// <summary>Forgets the cached parameter lists; subclasses call it when their layers change.</summary>
    protected void InvalidateParameterLists()
    {
        _namedParameters = null;
        _namedState = null;
    }

    /// <summary>Every layer, nested ones included, with its path (e.g. "4:residual_1/1:relu_1").</summary>
    public IEnumerable<(string Path, Layer Layer)> AllLayers()
    {
        var layers = Layers;
        for (int i = 0; i < layers.Count; i++)
            foreach (var e in Walk(layers[i], $"{i}:{layers[i].Name}")) yield return e;
    }

    private static IEnumerable<(string, Layer)> Walk(Layer layer, string path)
    {
        yield return (path, layer);
        var children = layer.Children;
        for (int j = 0; j < children.Count; j++)
            foreach (var e in Walk(children[j], $"{path}/{j}:{children[j].Name}")) yield return e;
    }

    private static void Collect(Layer layer, string path, List<(string, Parameter)> parameters, List<(string, StateTensor)> state)
    {
        var children = layer.Children;
        if (children.Count > 0)
        {
            for (int j = 0; j < children.Count; j++) Collect(children[j], $"{path}/{j}:{children[j].Name}", parameters, state);
            return;
        }
        foreach (var p in layer.Parameters) parameters.Add(($"{path}/{p.Name}", p));
        foreach (var s in layer.State) state.Add(($"{path}/{s.Name}", s));
    }

    /// <summary>Every dropout layer (nested ones included) with its path, for saving and restoring RNG state.</summary>
    public IEnumerable<(string Path, Dropout Layer)> DropoutLayers() =>
        AllLayers().Where(e => e.Layer is Dropout).Select(e => (e.Path, (Dropout)e.Layer));

    /// <summary>Total trainable values.</summary>
    public long TrainableParameterCount => Layers.Sum(l => l.TrainableParameterCount);

    /// <summary>
    /// Anomaly detection: after every layer's forward pass (and every backward pass) the output and gradients are
    /// downloaded and checked, and the first layer producing NaN or infinity raises <see cref="NumericAnomalyException"/>
    /// naming it. Slow (one download per layer); for debugging.
    /// </summary>
    public bool AnomalyDetection
    {
        get => _anomalyDetection;
        set
        {
            _anomalyDetection = value;
            foreach (var (path, layer) in AllLayers()) layer.AnomalyPath = value ? LayerPath(path) : null;
        }
    }

    // "4:residual_1/0:conv1" -> "residual_1/conv1": names without the indices.
    private static string LayerPath(string path) =>
        string.Join('/', path.Split('/').Select(part => part[(part.IndexOf(':', StringComparison.Ordinal) + 1)..]));

    /// <summary>The Keras-style summary: output shape and parameter count per layer, and totals.</summary>
    public virtual ModelSummary Summary()
    {
        var rows = new List<LayerSummary>();
        void AddRows(Layer l, string prefix, int depth)
        {
            rows.Add(new LayerSummary(prefix + l.Name, l.TypeName, l.OutputShape, l.TrainableParameterCount, l.NonTrainableParameterCount, depth));
            foreach (var c in l.Children) AddRows(c, prefix + l.Name + "/", depth + 1);
        }
        foreach (var l in Layers) AddRows(l, "", 0);
        return new ModelSummary(Name, InputShapes.Count == 1 ? InputShapes[0] : InputShapes[0], rows);
    }

    /// <summary>
    /// Runs the model on a batch (N, input sample...) of its only input. The returned tensor belongs to the model and
    /// stays valid until the next forward pass.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has several inputs or outputs (use the list overload).</exception>
    public Tensor Forward(Tensor input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (InputShapes.Count != 1 || OutputShapes.Count != 1)
            throw new InvalidOperationException(
                $"Model '{Name}' has {InputShapes.Count} inputs and {OutputShapes.Count} outputs; call Forward with a list of inputs.");
        return Forward([input], training)[0];
    }

    /// <summary>
    /// Runs the model on one batch per input (each (N, input sample...), all with the same N) and returns one batch per
    /// output. In training mode every layer keeps what <see cref="Backward(IReadOnlyList{Tensor})"/> needs.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The number of inputs, a shape or the batch sizes do not match.</exception>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (inputs.Count != InputShapes.Count)
            throw new ShapeMismatchException($"Model '{Name}' takes {InputShapes.Count} inputs, got {inputs.Count}.");
        for (int i = 0; i < inputs.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(inputs[i]);
            var t = inputs[i];
            if (t.Rank != InputShapes[i].Rank + 1 || !Shapes.Sample(t.Shape).SameDimensions(InputShapes[i]))
                throw new ShapeMismatchException(
                    $"Model '{Name}' input {i} expects (N, {string.Join(", ", InputShapes[i].Dimensions)}), got {t.Shape}.");
            if (t.Shape[0] != inputs[0].Shape[0])
                throw new ShapeMismatchException($"Model '{Name}': input {i} has batch {t.Shape[0]} but input 0 has {inputs[0].Shape[0]}.");
        }
        return ForwardCore(inputs, training);
    }

    /// <summary>
    /// Back-propagates the gradient of the loss with respect to the only output, overwriting every trainable
    /// parameter's gradient. Must follow a training-mode forward pass with the same batch.
    /// </summary>
    public void Backward(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        Backward([gradOutput]);
    }

    /// <summary>
    /// Back-propagates one gradient per output (each the shape of that output), overwriting every trainable parameter's
    /// gradient. Must follow a training-mode forward pass with the same batch.
    /// </summary>
    public void Backward(IReadOnlyList<Tensor> gradOutputs)
    {
        ArgumentNullException.ThrowIfNull(gradOutputs);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (gradOutputs.Count != OutputShapes.Count)
            throw new ShapeMismatchException($"Model '{Name}' has {OutputShapes.Count} outputs but got {gradOutputs.Count} output gradients.");
        for (int i = 0; i < gradOutputs.Count; i++) ArgumentNullException.ThrowIfNull(gradOutputs[i]);
        BackwardCore(gradOutputs);
    }

    /// <summary>The forward pass after the argument checks.</summary>
    protected abstract IReadOnlyList<Tensor> ForwardCore(IReadOnlyList<Tensor> inputs, bool training);

    /// <summary>The backward pass after the argument checks.</summary>
    protected abstract void BackwardCore(IReadOnlyList<Tensor> gradOutputs);

    /// <summary>The architecture as JSON: inputs, seed and every layer's type and hyper-parameters (and, for graphs, its inputs).</summary>
    public abstract JsonObject GetArchitecture();

    /// <summary>The architecture JSON as indented text.</summary>
    public string ToJson() => GetArchitecture().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Rebuilds a freshly initialized model from <see cref="ToJson"/> output (weights come from a checkpoint).</summary>
    /// <exception cref="ConvNetArgumentException">The JSON is invalid or describes an unknown format or layer.</exception>
    public static Model FromJson(string json, IBackend backend) => FromArchitecture(ParseArchitecture(json), backend);

    /// <summary>Rebuilds a freshly initialized model from <see cref="GetArchitecture"/> output, whatever its kind.</summary>
    /// <exception cref="ConvNetArgumentException">The format is unknown or the description is invalid.</exception>
    public static Model FromArchitecture(JsonObject architecture, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        string? format = architecture["format"] is JsonValue v && v.TryGetValue<string>(out var f) ? f : null;
        return format switch
        {
            Sequential.ArchitectureFormat => Sequential.FromArchitecture(architecture, backend),
            _ => throw new ConvNetArgumentException(
                $"Architecture: unknown format {architecture["format"]?.ToJsonString() ?? "(none)"}; expected \"{Sequential.ArchitectureFormat}\"."),
        };
    }

    /// <summary>Parses architecture JSON text into an object, with a typed error for invalid text.</summary>
    protected static JsonObject ParseArchitecture(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new ConvNetArgumentException("Architecture: the JSON is not an object.");
        }
        catch (JsonException e)
        {
            throw new ConvNetArgumentException($"Architecture: invalid JSON ({e.Message}).");
        }
    }

    /// <summary>Frees every layer's tensors.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the layers; subclasses free what else they hold and call the base.</summary>
    protected virtual void Dispose(bool disposing)
    {
        foreach (var l in Layers) l.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name} '{Name}' ({Layers.Count} layers, {TrainableParameterCount:N0} parameters) on {Backend.Name}";
}
