using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Base of every layer. A layer is created with its hyper-parameters, then <see cref="Build(IBackend, TensorShape, ulong)"/>
/// resolves it against a per-sample input shape (C, H, W) or (F) (merge layers such as <see cref="Add"/> take several):
/// it infers the output shape and allocates seeded parameters on the backend. <see cref="Forward(Tensor, bool)"/> and
/// <see cref="Backward"/> run through <see cref="IBackend"/> ops only, into buffers that the layer reuses from step to
/// step (re-allocated only when the batch size changes). The output tensor returned by Forward belongs to the layer and
/// stays valid until its next call; so does the input gradient returned by Backward, except inside a model, whose
/// backward pass recycles input gradients once they are consumed.
/// </summary>
/// <remarks>
/// In the functional API a layer is also a function of symbolic tensors: <see cref="Call(SymbolicTensor)"/> records the
/// call and returns the symbolic output; a <see cref="Model"/> built over those tensors builds the layer. Calling a layer
/// more than once shares it: every call uses the same parameters (later calls run on a replica with its own buffers).
/// </remarks>
public abstract partial class Layer : IDisposable
{
    private readonly List<Parameter> _parameters = [];
    private readonly List<StateTensor> _state = [];
    private readonly List<GraphNode> _calls = [];
    private TensorShape[]? _inputShapes;
    private TensorShape? _outputShape;
    private IBackend? _backend;
    private Layer? _replicaOf;
    private bool _trainable = true;
    private bool _disposed;

    /// <summary>Creates a layer; <paramref name="name"/> defaults to a unique name given by the model.</summary>
    protected Layer(string? name = null) => Name = name ?? "";

    /// <summary>The layer's name, unique inside its model (e.g. "conv2d_1"); assigned by the model when empty.</summary>
    public string Name { get; set; }

    /// <summary>The layer type as shown in summaries and saved architectures, e.g. "Conv2D".</summary>
    public abstract string TypeName { get; }

    /// <summary>Whether <see cref="Build(IBackend, TensorShape, ulong)"/> has run.</summary>
    public bool IsBuilt => _backend is not null;

    /// <summary>The backend the layer was built on.</summary>
    public IBackend Backend => _backend ?? throw NotBuilt();

    /// <summary>The per-sample input shape given to Build (the first one for a merge layer).</summary>
    public TensorShape InputShape => (_inputShapes ?? throw NotBuilt())[0];

    /// <summary>The per-sample shape of every input, in order (one for all but merge layers).</summary>
    public IReadOnlyList<TensorShape> InputShapes => _inputShapes ?? throw NotBuilt();

    /// <summary>The per-sample output shape inferred by Build.</summary>
    public TensorShape OutputShape => _outputShape ?? throw NotBuilt();

    /// <summary>
    /// Whether <see cref="Backward"/> must produce the input gradient. The model clears it where nobody consumes it (the
    /// first layer, or a layer whose inputs depend on no trainable parameter), saving e.g. a backward-data pass.
    /// </summary>
    public bool RequiresInputGradient { get; set; } = true;

    /// <summary>
    /// Whether the layer learns (default true). A frozen layer (false) computes no parameter gradients (its parameters'
    /// gradients are never even allocated), its parameters are left out of <see cref="Model.Parameters"/> and so get no
    /// optimizer state, and a frozen <see cref="BatchNorm2D"/> normalizes with its running statistics even in training.
    /// Setting it on a block (<see cref="Residual"/>) sets it on every layer inside. Create the optimizer state
    /// (the first step) after choosing what to freeze.
    /// </summary>
    public virtual bool Trainable
    {
        get => _replicaOf?.Trainable ?? _trainable;
        set => _trainable = value;
    }

    /// <summary>The parameters with their gradients (for composite layers, those of the whole block).</summary>
    public virtual IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Non-trainable tensors carried between steps (e.g. running statistics).</summary>
    public virtual IReadOnlyList<StateTensor> State => _state;

    /// <summary>Layers nested inside this one (a residual block's layers); empty for plain layers.</summary>
    public virtual IReadOnlyList<Layer> Children => [];

    /// <summary>Number of trainable values (masked-out weights excluded; 0 when frozen).</summary>
    public long TrainableParameterCount =>
        Children.Count > 0 ? Children.Sum(c => c.TrainableParameterCount) : Trainable ? Parameters.Sum(p => p.Count) : 0;

    /// <summary>Number of non-trainable values: running statistics, plus the parameters when frozen.</summary>
    public long NonTrainableParameterCount =>
        Children.Count > 0 ? Children.Sum(c => c.NonTrainableParameterCount)
        : State.Sum(s => s.Value.ElementCount) + (Trainable ? 0 : Parameters.Sum(p => p.Count));

    /// <summary>Whether a backward pass through this layer computes any parameter gradient.</summary>
    internal bool HasTrainableParameters =>
        Children.Count > 0 ? Children.Any(c => c.HasTrainableParameters) : Trainable && Parameters.Count > 0;

    /// <summary>
    /// When set (by <see cref="Model.AnomalyDetection"/>), the layer's path in its model: every forward output and
    /// backward gradient is then checked for NaN/Inf, raising <see cref="NumericAnomalyException"/> that names it.
    /// </summary>
    internal string? AnomalyPath { get; set; }

    /// <summary>Reusable buffers of this layer.</summary>
    internal Workspace Workspace { get; } = new();

    /// <summary>Where input gradients come from when the layer runs inside a model (recycled by liveness); null outside one.</summary>
    internal BufferArena? GradientArena { get; set; }

    /// <summary>The symbolic calls of this layer (functional API), in call order.</summary>
    internal IReadOnlyList<GraphNode> Calls => _calls;

    /// <summary>The layer this one replicates (a shared layer's later call), or null.</summary>
    internal Layer? ReplicaOf => _replicaOf;

    /// <summary>The smallest and largest number of inputs the layer takes (1 and 1 unless it merges tensors).</summary>
    protected internal virtual (int Min, int Max) InputArity => (1, 1);

    /// <summary>Infers the per-sample output shape for a per-sample input shape without building anything.</summary>
    public TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        return ComputeOutputShape([inputShape]);
    }

    /// <summary>Infers the per-sample output shape for per-sample input shapes (merge layers) without building anything.</summary>
    /// <exception cref="ShapeMismatchException">The number of inputs or a shape does not fit (the message names the layer).</exception>
    public TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        var (min, max) = InputArity;
        if (inputShapes.Count < min || inputShapes.Count > max)
            throw new ShapeMismatchException(
                $"Layer '{Name}' ({TypeName}) takes {(min == max ? $"{min}" : $"{min} to {(max == int.MaxValue ? "any number of" : max.ToString(System.Globalization.CultureInfo.InvariantCulture))}")} input(s), got {inputShapes.Count}.");
        return inputShapes.Count == 1 ? InferOutputShape(inputShapes[0]) : InferOutputShape(inputShapes);
    }

    /// <summary>
    /// Resolves the layer against <paramref name="inputShape"/> (one sample, no batch dimension) and allocates its
    /// parameters on <paramref name="backend"/>, initialized from <paramref name="seed"/> on the host.
    /// </summary>
    public void Build(IBackend backend, TensorShape inputShape, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        Build(backend, [inputShape], seed);
    }

    /// <summary>Resolves the layer against the shapes of its inputs and allocates its parameters (see the single-input overload).</summary>
    /// <exception cref="InvalidOperationException">The layer is already built (a layer instance belongs to one model).</exception>
    public void Build(IBackend backend, IReadOnlyList<TensorShape> inputShapes, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(inputShapes);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsBuilt)
            throw new InvalidOperationException($"Layer '{Name}' ({TypeName}) is already built; a layer instance can belong to one model only.");
        var output = ComputeOutputShape(inputShapes);
        _backend = backend;
        _inputShapes = [.. inputShapes];
        _outputShape = output;
        OnBuild(new ParameterFactory(this, backend, seed, shareFrom: null));
    }

    /// <summary>Shape inference for one input, with errors that name the layer and the shapes.</summary>
    protected abstract TensorShape InferOutputShape(TensorShape inputShape);

    /// <summary>Shape inference for several inputs (merge layers override it; others take one input).</summary>
    protected virtual TensorShape InferOutputShape(IReadOnlyList<TensorShape> inputShapes) =>
        throw new ShapeMismatchException($"Layer '{Name}' ({TypeName}) takes one input, got {inputShapes.Count}.");

    /// <summary>Allocates parameters and state with <paramref name="factory"/>; the default layer has none.</summary>
    protected virtual void OnBuild(ParameterFactory factory) { }

    /// <summary>
    /// Runs the layer on a batch (N, sample...) living on <see cref="Backend"/>. In training mode it keeps what
    /// <see cref="Backward"/> needs; dropout drops and batch norm uses batch statistics.
    /// </summary>
    public Tensor Forward(Tensor input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (InputArity.Min != 1)
            throw new InvalidOperationException($"Layer '{Name}' ({TypeName}) takes {InputArity.Min} or more inputs; call Forward with a list.");
        CheckInput(input, 0);
        var output = ForwardCore(input, training);
        if (AnomalyPath is not null) CheckFinite(output, "forward", "output");
        return output;
    }

    /// <summary>Runs the layer on one batch per input (all with the same N); see <see cref="Forward(Tensor, bool)"/>.</summary>
    public Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (inputs.Count != InputShapes.Count)
            throw new ShapeMismatchException($"Layer '{Name}' ({TypeName}) was built for {InputShapes.Count} input(s), got {inputs.Count}.");
        for (int i = 0; i < inputs.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(inputs[i]);
            CheckInput(inputs[i], i);
            if (inputs[i].Shape[0] != inputs[0].Shape[0])
                throw new ShapeMismatchException($"Layer '{Name}' ({TypeName}): input {i} has batch {inputs[i].Shape[0]} but input 0 has {inputs[0].Shape[0]}.");
        }
        var output = inputs.Count == 1 && InputArity.Min == 1 ? ForwardCore(inputs[0], training) : ForwardCore(inputs, training);
        if (AnomalyPath is not null) CheckFinite(output, "forward", "output");
        return output;
    }

    private void CheckInput(Tensor input, int index)
    {
        var expected = InputShapes[index];
        if (input.Rank != expected.Rank + 1 || !Shapes.Sample(input.Shape).SameDimensions(expected))
            throw new ShapeMismatchException(
                $"Layer '{Name}' ({TypeName}) expects input{(InputShapes.Count > 1 ? $" {index}" : "")} (N, {string.Join(", ", expected.Dimensions)}) per its input shape {expected}, got {input.Shape}.");
    }

    /// <summary>
    /// Back-propagates <paramref name="gradOutput"/> (shape of the last output): overwrites every parameter gradient
    /// (unless the layer is frozen) and returns the input gradient, or null when <see cref="RequiresInputGradient"/> is
    /// false. Must follow a training-mode <see cref="Forward(Tensor, bool)"/> with the same batch.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer takes several inputs (use <see cref="BackwardInputs"/>).</exception>
    public Tensor? Backward(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        if (InputArity.Min != 1)
            throw new InvalidOperationException($"Layer '{Name}' ({TypeName}) takes several inputs; use BackwardInputs.");
        CheckGradOutput(gradOutput);
        var gradInput = BackwardCore(gradOutput);
        if (AnomalyPath is not null) CheckFiniteGradients(gradInput is null ? [] : [gradInput]);
        return gradInput;
    }

    /// <summary>Back-propagates <paramref name="gradOutput"/> and returns one gradient per input (null where not required).</summary>
    public IReadOnlyList<Tensor?> BackwardInputs(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        if (InputArity.Min == 1) return [Backward(gradOutput)];
        CheckGradOutput(gradOutput);
        var gradInputs = BackwardCoreInputs(gradOutput);
        if (AnomalyPath is not null) CheckFiniteGradients(gradInputs);
        return gradInputs;
    }

    private void CheckGradOutput(Tensor gradOutput)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsBuilt) throw NotBuilt();
        if (gradOutput.Rank != OutputShape.Rank + 1 || !Shapes.Sample(gradOutput.Shape).SameDimensions(OutputShape))
            throw new ShapeMismatchException(
                $"Layer '{Name}' ({TypeName}) produces (N, {string.Join(", ", OutputShape.Dimensions)}) but got gradOutput {gradOutput.Shape}.");
    }

    private void CheckFiniteGradients(IReadOnlyList<Tensor?> gradInputs)
    {
        if (Children.Count > 0) return;
        if (Trainable) foreach (var p in Parameters) CheckFinite(p.Gradient, "backward", $"gradient of {p.Name}");
        foreach (var g in gradInputs) if (g is not null) CheckFinite(g, "backward", "input gradient");
    }

    private void CheckFinite(Tensor t, string phase, string what)
    {
        var host = t.ToArray();
        for (int i = 0; i < host.Length; i++)
        {
            if (!float.IsFinite(host[i]))
                throw new NumericAnomalyException(AnomalyPath!, phase,
                    $"Anomaly detected: layer '{AnomalyPath}' ({TypeName}) produced {host[i]} in its {phase} {what} {t.Shape} at flat index {i}; " +
                    $"every layer before it in the {phase} pass was finite.");
        }
    }

    /// <summary>The forward pass after the shape check.</summary>
    protected abstract Tensor ForwardCore(Tensor input, bool training);

    /// <summary>The forward pass of a layer with several inputs (merge layers override it).</summary>
    protected virtual Tensor ForwardCore(IReadOnlyList<Tensor> inputs, bool training) => ForwardCore(inputs[0], training);

    /// <summary>The backward pass after the shape check.</summary>
    protected abstract Tensor? BackwardCore(Tensor gradOutput);

    /// <summary>The backward pass of a layer with several inputs: one gradient per input (merge layers override it).</summary>
    protected virtual IReadOnlyList<Tensor?> BackwardCoreInputs(Tensor gradOutput) => [BackwardCore(gradOutput)];

    /// <summary>
    /// The hyper-parameters that rebuild this layer (see <see cref="LayerRegistry"/>); "type" and "name" are added by
    /// <see cref="GetConfig"/>.
    /// </summary>
    protected virtual void WriteConfig(JsonObject config) { }

    /// <summary>A JSON description of the layer: its type, name and hyper-parameters.</summary>
    public JsonObject GetConfig()
    {
        var config = new JsonObject { ["type"] = TypeName, ["name"] = Name };
        WriteConfig(config);
        return config;
    }

    /// <summary>
    /// A buffer of shape (N = <paramref name="batch"/>, output sample) on the layer's backend, kept in the layer's
    /// workspace under <paramref name="key"/>: the place for a forward output. The layer owns it (freed with the layer);
    /// the same key returns the same tensor while the batch size is unchanged, and a new one (contents undefined) when
    /// it changes. Only valid after the layer is built.
    /// </summary>
    protected internal Tensor Buffer(string key, int batch) => Workspace.Get(Backend, key, Shapes.Batch(OutputShape, batch));

    /// <summary>
    /// A workspace buffer of any shape and type under <paramref name="key"/> (saved activations, masks, constants built
    /// in <c>OnBuild</c>); same ownership and reuse rules as <see cref="Buffer(string, int)"/>: asking for another shape
    /// under the same key frees the old tensor.
    /// </summary>
    protected internal Tensor Buffer(string key, TensorShape shape, DataType dataType = DataType.Float32) =>
        Workspace.Get(Backend, key, shape, dataType);

    /// <summary>
    /// The buffer an input gradient of <paramref name="shape"/> is written to in <c>BackwardCore</c>: rented from the
    /// model's arena (recycled once the layer before has consumed it) inside a model, a workspace buffer otherwise.
    /// Write every element (its contents are undefined) and return it.
    /// </summary>
    protected internal Tensor InputGradientBuffer(TensorShape shape) =>
        GradientArena is { } arena ? arena.Rent(Backend, shape) : Workspace.Get(Backend, "dx", shape);

    /// <summary>The input gradient buffer for a batch of <paramref name="batch"/> samples of the (first) input.</summary>
    protected internal Tensor InputGradientBuffer(int batch) => InputGradientBuffer(Shapes.Batch(InputShape, batch));

    internal void AddParameter(Parameter p) => _parameters.Add(p);

    internal void AddState(StateTensor s) => _state.Add(s);

    private InvalidOperationException NotBuilt() =>
        new($"Layer '{Name}' ({TypeName}) is not built yet: add it to a model or call Build(backend, inputShape, seed) first.");

    /// <summary>Frees parameters, state and workspace buffers (a replica frees only what is its own).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases this layer's tensors; composite layers also dispose their children.</summary>
    protected virtual void Dispose(bool disposing)
    {
        foreach (var p in _parameters) p.Dispose();
        if (_replicaOf is null) foreach (var s in _state) s.Dispose();
        Workspace.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({TypeName})";
}
