using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Base of every layer. A layer is created with its hyper-parameters, then <see cref="Build"/> resolves it against a
/// per-sample input shape (C, H, W) or (F): it infers the output shape and allocates seeded parameters on the backend.
/// <see cref="Forward"/> and <see cref="Backward"/> run through <see cref="IBackend"/> ops only, into buffers that the
/// layer reuses from step to step (re-allocated only when the batch size changes). The output tensor returned by
/// Forward, and the input gradient returned by Backward, belong to the layer and stay valid until its next call.
/// </summary>
public abstract class Layer : IDisposable
{
    private readonly List<Parameter> _parameters = [];
    private readonly List<StateTensor> _state = [];
    private TensorShape? _inputShape, _outputShape;
    private IBackend? _backend;
    private bool _disposed;

    /// <summary>Creates a layer; <paramref name="name"/> defaults to a unique name given by the model.</summary>
    protected Layer(string? name = null) => Name = name ?? "";

    /// <summary>The layer's name, unique inside its model (e.g. "conv2d_1"); assigned by <see cref="Sequential.Add(Layer)"/> when empty.</summary>
    public string Name { get; set; }

    /// <summary>The layer type as shown in summaries and saved architectures, e.g. "Conv2D".</summary>
    public abstract string TypeName { get; }

    /// <summary>Whether <see cref="Build"/> has run.</summary>
    public bool IsBuilt => _backend is not null;

    /// <summary>The backend the layer was built on.</summary>
    public IBackend Backend => _backend ?? throw NotBuilt();

    /// <summary>The per-sample input shape given to <see cref="Build"/>.</summary>
    public TensorShape InputShape => _inputShape ?? throw NotBuilt();

    /// <summary>The per-sample output shape inferred by <see cref="Build"/>.</summary>
    public TensorShape OutputShape => _outputShape ?? throw NotBuilt();

    /// <summary>
    /// Whether <see cref="Backward"/> must produce the input gradient. The model clears it on its first layer,
    /// where nobody consumes it (saving, e.g., the first convolution's backward-data pass).
    /// </summary>
    public bool RequiresInputGradient { get; set; } = true;

    /// <summary>The trainable parameters with their gradients (for composite layers, those of the whole block).</summary>
    public virtual IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Non-trainable tensors carried between steps (e.g. running statistics).</summary>
    public virtual IReadOnlyList<StateTensor> State => _state;

    /// <summary>Layers nested inside this one (a residual block's layers); empty for plain layers.</summary>
    public virtual IReadOnlyList<Layer> Children => [];

    /// <summary>Number of trainable values (masked-out weights excluded).</summary>
    public long TrainableParameterCount => Parameters.Sum(p => p.Count);

    /// <summary>Number of non-trainable values (e.g. batch-norm running mean and variance).</summary>
    public long NonTrainableParameterCount => State.Sum(s => s.Value.ElementCount);

    /// <summary>
    /// When set (by <see cref="Sequential.AnomalyDetection"/>), the layer's path in its model: every forward output and
    /// backward gradient is then checked for NaN/Inf, raising <see cref="NumericAnomalyException"/> that names it.
    /// </summary>
    internal string? AnomalyPath { get; set; }

    /// <summary>Reusable buffers of this layer.</summary>
    internal Workspace Workspace { get; } = new();

    /// <summary>Infers the per-sample output shape for a per-sample input shape without building anything.</summary>
    public TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        return InferOutputShape(inputShape);
    }

    /// <summary>
    /// Resolves the layer against <paramref name="inputShape"/> (one sample, no batch dimension) and allocates its
    /// parameters on <paramref name="backend"/>, initialized from <paramref name="seed"/> on the host.
    /// </summary>
    public void Build(IBackend backend, TensorShape inputShape, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(inputShape);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsBuilt)
            throw new InvalidOperationException($"Layer '{Name}' ({TypeName}) is already built; a layer instance can belong to one model only.");
        var output = InferOutputShape(inputShape);
        _backend = backend;
        _inputShape = inputShape;
        _outputShape = output;
        OnBuild(new ParameterFactory(this, backend, seed));
    }

    /// <summary>Shape inference, with errors that name the layer and the shapes.</summary>
    protected abstract TensorShape InferOutputShape(TensorShape inputShape);

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
        var expected = InputShape;
        if (input.Rank != expected.Rank + 1 || !Shapes.Sample(input.Shape).SameDimensions(expected))
            throw new ShapeMismatchException(
                $"Layer '{Name}' ({TypeName}) expects input (N, {string.Join(", ", expected.Dimensions)}) per its input shape {expected}, got {input.Shape}.");
        var output = ForwardCore(input, training);
        if (AnomalyPath is not null) CheckFinite(output, "forward", "output");
        return output;
    }

    /// <summary>
    /// Back-propagates <paramref name="gradOutput"/> (shape of the last output): overwrites every parameter gradient
    /// and returns the input gradient, or null when <see cref="RequiresInputGradient"/> is false.
    /// Must follow a training-mode <see cref="Forward"/> with the same batch.
    /// </summary>
    public Tensor? Backward(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!IsBuilt) throw NotBuilt();
        if (gradOutput.Rank != OutputShape.Rank + 1 || !Shapes.Sample(gradOutput.Shape).SameDimensions(OutputShape))
            throw new ShapeMismatchException(
                $"Layer '{Name}' ({TypeName}) produces (N, {string.Join(", ", OutputShape.Dimensions)}) but got gradOutput {gradOutput.Shape}.");
        var gradInput = BackwardCore(gradOutput);
        if (AnomalyPath is not null && Children.Count == 0)
        {
            foreach (var p in Parameters) CheckFinite(p.Gradient, "backward", $"gradient of {p.Name}");
            if (gradInput is not null) CheckFinite(gradInput, "backward", "input gradient");
        }
        return gradInput;
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

    /// <summary>The backward pass after the shape check.</summary>
    protected abstract Tensor? BackwardCore(Tensor gradOutput);

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

    /// <summary>The tensor of shape (N, output sample) in this layer's workspace under <paramref name="key"/>.</summary>
    internal Tensor Buffer(string key, int batch) => Workspace.Get(Backend, key, Shapes.Batch(OutputShape, batch));

    /// <summary>A workspace buffer of any shape.</summary>
    internal Tensor Buffer(string key, TensorShape shape, DataType dataType = DataType.Float32) =>
        Workspace.Get(Backend, key, shape, dataType);

    internal void AddParameter(Parameter p) => _parameters.Add(p);

    internal void AddState(StateTensor s) => _state.Add(s);

    private InvalidOperationException NotBuilt() =>
        new($"Layer '{Name}' ({TypeName}) is not built yet: add it to a model or call Build(backend, inputShape, seed) first.");

    /// <summary>Frees parameters, state and workspace buffers.</summary>
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
        foreach (var s in _state) s.Dispose();
        Workspace.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({TypeName})";

    /// <summary>Creates a layer's parameters on the backend with seeded host initialization.</summary>
    protected sealed class ParameterFactory
    {
        private readonly Layer _layer;
        private ulong _stream;

        internal ParameterFactory(Layer layer, IBackend backend, ulong seed)
        {
            _layer = layer;
            Backend = backend;
            Seed = seed;
        }

        /// <summary>The backend to allocate on.</summary>
        public IBackend Backend { get; }

        /// <summary>The layer's seed (derive sub-seeds from it for nested layers).</summary>
        public ulong Seed { get; }

        /// <summary>
        /// Allocates a parameter and its gradient, fills the value with <paramref name="initializer"/> (its own random
        /// stream derived from the layer seed and the parameter's position) and uploads it.
        /// </summary>
        public Parameter Create(string name, TensorShape shape, Initializer initializer, int fanIn, int fanOut,
            long? count = null, ReadOnlySpan<float> mask = default)
        {
            BuildGuard.Claim(isState: false, _layer, name, shape);
            var host = new float[shape.ElementCount];
            initializer.Fill(host, fanIn, fanOut, new HostRandom(HostRandom.Derive(Seed, ++_stream)));
            if (!mask.IsEmpty)
                for (int i = 0; i < host.Length; i++) host[i] *= mask[i];
            var value = Persistent.Allocate(Backend, shape);
            var grad = Persistent.Allocate(Backend, shape);
            value.Upload(host);
            var p = new Parameter(name, value, grad, count ?? shape.ElementCount);
            _layer.AddParameter(p);
            return p;
        }

        /// <summary>Allocates a non-trainable state tensor filled with <paramref name="value"/>.</summary>
        public StateTensor CreateState(string name, TensorShape shape, float value)
        {
            BuildGuard.Claim(isState: true, _layer, name, shape);
            var t = Persistent.Allocate(Backend, shape);
            if (value != 0f) Backend.Fill(t, value);
            var s = new StateTensor(name, t);
            _layer.AddState(s);
            return s;
        }
    }
}
