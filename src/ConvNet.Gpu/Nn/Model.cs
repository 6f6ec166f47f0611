using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A network of built layers on one backend, as a graph of layer calls: what it takes (<see cref="InputShapes"/>), what
/// it gives (<see cref="OutputShapes"/>), its layers and parameters, and the forward and backward passes. Build one from
/// symbolic tensors (the functional API: <see cref="Input(TensorShape, string?)"/>, <see cref="Layer.Call(SymbolicTensor)"/>,
/// <see cref="Add"/>, <see cref="Concat"/>, shared layers, several inputs and outputs), or use <see cref="Sequential"/>,
/// which builds a chain. A model is a container only: training steps, fitting, evaluation and prediction live in
/// <c>ConvNet.Gpu.Training</c>, saving and loading in <c>ConvNet.Gpu.Checkpoints</c>.
/// </summary>
/// <remarks>
/// <para>
/// The graph is checked when the model is made: every output must depend only on the given inputs, every input must be
/// used, names must be unique, and shapes must fit (checked at each call already); errors are
/// <see cref="InvalidGraphException"/> or <see cref="ShapeMismatchException"/> naming the nodes. Layers are built in
/// topological order (ties broken by creation order), layer i with a seed stream derived from <see cref="Seed"/> and i,
/// so a chain built either way gets the same weights.
/// </para>
/// <para>
/// Forward runs the calls in that order. Backward runs them in reverse; where a tensor feeds several calls, their
/// gradients are summed in that reverse order (fixed, so results are bit-reproducible). Input-gradient buffers come from
/// an arena and return to it as soon as their last reader is done, so a backward pass holds only the gradients alive at
/// once. Tensors returned by <see cref="Forward(Tensor, bool)"/> belong to the layers and stay valid until the next
/// forward pass. Every parameter list has a fixed order (the order of <see cref="Layers"/>, then each layer's own
/// order), which optimizers and checkpoints rely on.
/// </para>
/// <para>
/// Thread safety: a model serves one thread at a time. Its layers keep activation and gradient buffers between calls,
/// so two threads calling Forward, Predict, Evaluate or training at the same time would read each other's data; the
/// later call throws <see cref="ConcurrentUseException"/> naming both threads instead. Calls from different threads one
/// after the other are fine. For parallel inference, load one model per thread (each on its own backend: a backend,
/// too, runs one compute op at a time).
/// </para>
/// </remarks>
public partial class Model : IDisposable
{
    private readonly List<SymbolicTensor> _inputs = [];
    private readonly List<SymbolicTensor> _outputs = [];
    private readonly List<GraphNode> _nodes = [];
    private readonly List<Layer> _layers = [];
    private readonly BufferArena _arena = new();
    private List<(string Key, Parameter Parameter, Layer Leaf)>? _namedParameters;
    private List<(string Key, StateTensor State)>? _namedState;
    private bool _anomalyDetection;

    /// <summary>Builds a model with one input and one output from symbolic tensors (see the list overload).</summary>
    public Model(IBackend backend, SymbolicTensor input, SymbolicTensor output, ulong seed = 42, string name = "model")
        : this(backend, [input ?? throw new ArgumentNullException(nameof(input))], [output ?? throw new ArgumentNullException(nameof(output))], seed, name)
    {
    }

    /// <summary>
    /// Builds a model that maps <paramref name="inputs"/> (tensors from <see cref="Input(TensorShape, string?)"/>) to
    /// <paramref name="outputs"/> (tensors from layer calls): checks the graph, names unnamed layers and inputs, and
    /// builds every layer called between them on <paramref name="backend"/>.
    /// </summary>
    /// <param name="backend">Where parameters live and ops run.</param>
    /// <param name="inputs">The model's inputs, in the order Forward takes them.</param>
    /// <param name="outputs">The model's outputs, in the order Forward returns them.</param>
    /// <param name="seed">Seed of every layer's initializer.</param>
    /// <param name="name">Name shown in summaries and saved with the architecture.</param>
    /// <exception cref="InvalidGraphException">An input is unused or not an input, an output depends on a tensor outside the inputs, or a name repeats.</exception>
    /// <exception cref="InvalidOperationException">A layer is already built (it belongs to another model).</exception>
    public Model(IBackend backend, IReadOnlyList<SymbolicTensor> inputs, IReadOnlyList<SymbolicTensor> outputs, ulong seed = 42, string name = "model")
        : this(backend, seed, name)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        BuildGraph(inputs, outputs);
    }

    /// <summary>An empty chain that takes <paramref name="inputShape"/>; <see cref="AppendBuilt"/> adds layers (how <see cref="Sequential"/> grows).</summary>
    private protected Model(IBackend backend, TensorShape inputShape, ulong seed, string name) : this(backend, seed, name)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        var input = new SymbolicTensor(inputShape, null, "input");
        _inputs.Add(input);
        _outputs.Add(input);
    }

    private Model(IBackend backend, ulong seed, string name)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(name);
        Backend = backend;
        Seed = seed;
        Name = name;
        UseGuard = new ConcurrencyGuard(() => $"model '{Name}'");
    }

    /// <summary>
    /// One thread at a time: Forward, Backward, Predict and Evaluate (and a Trainer's steps and Fit) share the model's
    /// activation and gradient buffers, so a call that overlaps another thread's throws <see cref="ConcurrentUseException"/>.
    /// </summary>
    internal ConcurrencyGuard UseGuard { get; }

    /// <summary>A symbolic image input (channels, height, width) for the functional API.</summary>
    /// <param name="shape">Per-sample shape.</param>
    /// <param name="name">The input's name (default "input_k", assigned by the model).</param>
    public static SymbolicTensor Input((int Channels, int Height, int Width) shape, string? name = null) =>
        Input(Shapes.Image(shape.Channels, shape.Height, shape.Width), name);

    /// <summary>A symbolic input of any per-sample shape (rank 1 to 3), e.g. <see cref="Shapes.Features"/>.</summary>
    /// <exception cref="ShapeMismatchException">The shape has rank 4 (a per-sample shape has no batch dimension).</exception>
    public static SymbolicTensor Input(TensorShape shape, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank >= TensorShape.MaxRank)
            throw new ShapeMismatchException($"An input shape is per sample (no batch dimension) and has rank at most {TensorShape.MaxRank - 1}, got {shape}.");
        return new SymbolicTensor(shape, null, string.IsNullOrEmpty(name) ? null : name);
    }

    /// <summary>The backend every parameter lives on.</summary>
    public IBackend Backend { get; }

    /// <summary>The initialization seed (layer i draws from a stream derived from it).</summary>
    public ulong Seed { get; }

    /// <summary>The model's name.</summary>
    public string Name { get; set; }

    /// <summary>The symbolic inputs, in order.</summary>
    public IReadOnlyList<SymbolicTensor> Inputs => _inputs;

    /// <summary>The symbolic outputs, in order.</summary>
    public IReadOnlyList<SymbolicTensor> Outputs => _outputs;

    /// <summary>Per-sample shape of each input, in input order (no batch dimension).</summary>
    public IReadOnlyList<TensorShape> InputShapes => _inputs.Select(t => t.Shape).ToArray();

    /// <summary>Per-sample shape of each output, in output order.</summary>
    public IReadOnlyList<TensorShape> OutputShapes => _outputs.Select(t => t.Shape).ToArray();

    /// <summary>Per-sample shape of the only input.</summary>
    /// <exception cref="InvalidOperationException">The model has several inputs (use <see cref="InputShapes"/>).</exception>
    public TensorShape InputShape => _inputs.Count == 1 ? _inputs[0].Shape
        : throw new InvalidOperationException($"Model '{Name}' has {_inputs.Count} inputs; use InputShapes.");

    /// <summary>Per-sample shape of the only output.</summary>
    /// <exception cref="InvalidOperationException">The model has several outputs (use <see cref="OutputShapes"/>).</exception>
    public TensorShape OutputShape => _outputs.Count == 1 ? _outputs[0].Shape
        : throw new InvalidOperationException($"Model '{Name}' has {_outputs.Count} outputs; use OutputShapes.");

    /// <summary>Every layer of the model once (a shared layer appears once), in the order they were built.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>The layer whose output is model output <paramref name="index"/>, or null when that output is a model input.</summary>
    public Layer? OutputLayer(int index) => _outputs[index].Producer?.Owner;

    /// <summary>The arena the backward pass rents input gradients from (for memory accounting and tests).</summary>
    internal BufferArena GradientArena => _arena;

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed { get; private set; }

    /// <summary>
    /// Every trainable parameter in a fixed order (layer by layer), as optimizers see them; frozen layers'
    /// (<see cref="Layer.Trainable"/> false) are left out.
    /// </summary>
    public IReadOnlyList<Parameter> Parameters => Named().Where(p => p.Leaf.Trainable).Select(p => p.Parameter).ToList();

    /// <summary>Every parameter, frozen or not, with a stable key such as "0:conv2d_1/weight" (used by checkpoints).</summary>
    public IReadOnlyList<(string Key, Parameter Parameter)> NamedParameters => Named().Select(p => (p.Key, p.Parameter)).ToList();

    /// <summary>Every non-trainable state tensor with a stable key (e.g. "3:batchnorm2d_1/running_mean").</summary>
    public IReadOnlyList<(string Key, StateTensor State)> NamedState
    {
        get
        {
            _ = Named();
            return _namedState!;
        }
    }

    private List<(string Key, Parameter Parameter, Layer Leaf)> Named()
    {
        if (_namedParameters is null)
        {
            var parameters = new List<(string, Parameter, Layer)>();
            var state = new List<(string, StateTensor)>();
            for (int i = 0; i < _layers.Count; i++) Collect(_layers[i], $"{i}:{_layers[i].Name}", parameters, state);
            _namedParameters = parameters;
            _namedState = state;
        }
        return _namedParameters;
    }

    private static void Collect(Layer layer, string path, List<(string, Parameter, Layer)> parameters, List<(string, StateTensor)> state)
    {
        var children = layer.Children;
        if (children.Count > 0)
        {
            for (int j = 0; j < children.Count; j++) Collect(children[j], $"{path}/{j}:{children[j].Name}", parameters, state);
            return;
        }
        foreach (var p in layer.Parameters) parameters.Add(($"{path}/{p.Name}", p, layer));
        foreach (var s in layer.State) state.Add(($"{path}/{s.Name}", s));
    }

    /// <summary>Every layer, nested ones included, with its path (e.g. "4:residual_1/1:relu_1").</summary>
    public IEnumerable<(string Path, Layer Layer)> AllLayers()
    {
        for (int i = 0; i < _layers.Count; i++)
            foreach (var e in Walk(_layers[i], $"{i}:{_layers[i].Name}")) yield return e;
    }

    private static IEnumerable<(string, Layer)> Walk(Layer layer, string path)
    {
        yield return (path, layer);
        var children = layer.Children;
        for (int j = 0; j < children.Count; j++)
            foreach (var e in Walk(children[j], $"{path}/{j}:{children[j].Name}")) yield return e;
    }

    /// <summary>
    /// Every dropout layer that runs (nested ones, and the replicas of shared ones, included) with its path, for saving
    /// and restoring RNG state, in a fixed order.
    /// </summary>
    public IEnumerable<(string Path, Dropout Layer)> DropoutLayers()
    {
        for (int i = 0; i < _nodes.Count; i++)
        {
            var runner = _nodes[i].Runner!;
            foreach (var (path, layer) in Walk(runner, $"{i}:{_nodes[i].Name}"))
                if (layer is Dropout d) yield return (path, d);
        }
    }

    /// <summary>Total trainable values (frozen layers excluded).</summary>
    public long TrainableParameterCount => _layers.Sum(l => l.TrainableParameterCount);

    /// <summary>Rebuilds a freshly initialized model from <see cref="ToJson"/> output (weights come from a checkpoint).</summary>
    /// <exception cref="ConvNetArgumentException">The JSON is invalid or describes an unknown format or layer.</exception>
    public static Model FromJson(string json, IBackend backend) => FromArchitecture(ParseArchitecture(json), backend);

    /// <summary>Rebuilds a freshly initialized model from <see cref="GetArchitecture"/> output, whatever its kind.</summary>
    /// <exception cref="ConvNetArgumentException">The format is unknown or the description is invalid.</exception>
    /// <exception cref="InvalidGraphException">A graph refers to unknown tensors or has a cycle (the message names the nodes).</exception>
    public static Model FromArchitecture(JsonObject architecture, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(backend);
        string? format = architecture["format"] is JsonValue v && v.TryGetValue<string>(out var f) ? f : null;
        return format switch
        {
            Sequential.ArchitectureFormat => Sequential.FromArchitecture(architecture, backend),
            GraphFormat => GraphFromArchitecture(architecture, backend),
            _ => throw new ConvNetArgumentException(
                $"Architecture: unknown format {architecture["format"]?.ToJsonString() ?? "(none)"}; expected \"{GraphFormat}\" or \"{Sequential.ArchitectureFormat}\"."),
        };
    }

    /// <summary>The architecture JSON as indented text.</summary>
    public string ToJson() => GetArchitecture().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Parses architecture JSON text into an object, with a typed error for invalid text.</summary>
    private protected static JsonObject ParseArchitecture(string json)
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

    /// <summary>Frees every layer's tensors (replicas included) and the gradient arena.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        foreach (var node in _nodes)
            if (node.Runner is { } runner && !ReferenceEquals(runner, node.Owner)) runner.Dispose();
        foreach (var l in _layers) l.Dispose();
        _arena.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name} '{Name}' ({_layers.Count} layers, {TrainableParameterCount:N0} parameters) on {Backend.Name}";
}
