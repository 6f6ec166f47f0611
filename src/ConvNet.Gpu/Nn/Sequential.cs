using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A stack of layers, Keras style: give the per-sample input shape up front, <see cref="Add(Layer)"/> layers (each is built
/// at once, so shapes are inferred and errors point at the layer that does not fit), inspect with <see cref="Summary"/>,
/// then train with <see cref="Training.Trainer"/> or call <see cref="Forward"/>/<see cref="Backward(Tensor)"/> yourself.
/// Everything runs through the model's <see cref="IBackend"/>; initialization is seeded and deterministic.
/// </summary>
/// <remarks>
/// Thread safety: a model serves one thread at a time. Its layers keep activation and gradient buffers between
/// calls, so two threads calling Forward, Predict, Evaluate or training at the same time would read each other's
/// data; the later call throws <see cref="ConcurrentUseException"/> naming both threads instead. Calls from
/// different threads one after the other are fine. For parallel inference, load one model per thread (each on its
/// own backend: a backend, too, runs one compute op at a time).
/// </remarks>
/// <example>
/// <code>
/// using var model = new Sequential(backend, inputShape: (1, 28, 28), seed: 42)
///     .Add(new Conv2D(6, kernelSize: 5, padding: 2)).Add(new ReLU()).Add(new MaxPool2D(2))
///     .Add(new Flatten()).Add(new Dense(10));
/// Console.WriteLine(model.Summary());
/// </code>
/// </example>
public sealed class Sequential : IDisposable
{
    private readonly List<Layer> _layers = [];
    private List<(string Key, Parameter Parameter)>? _namedParameters;
    private List<(string Key, StateTensor State)>? _namedState;
    private Tensor? _inputBuffer, _labelBuffer, _probabilityBuffer;
    private bool _disposed;

    /// <summary>Creates an empty model for image samples (C, H, W).</summary>
    /// <param name="backend">Where parameters live and ops run.</param>
    /// <param name="inputShape">Per-sample input shape (channels, height, width).</param>
    /// <param name="seed">Seed of every layer's initializer (layer i uses a stream derived from it).</param>
    /// <param name="name">Model name shown in summaries.</param>
    public Sequential(IBackend backend, (int Channels, int Height, int Width) inputShape, ulong seed = 42, string name = "sequential")
        : this(backend, Shapes.Image(inputShape.Channels, inputShape.Height, inputShape.Width), seed, name)
    {
    }

    /// <summary>Creates an empty model for any per-sample input shape, e.g. <see cref="Shapes.Features"/>.</summary>
    public Sequential(IBackend backend, TensorShape inputShape, ulong seed = 42, string name = "sequential")
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Rank >= TensorShape.MaxRank)
            throw new ShapeMismatchException($"The input shape is per sample (no batch dimension) and has rank at most 3, got {inputShape}.");
        Backend = backend;
        InputShape = inputShape;
        Seed = seed;
        Name = name;
        UseGuard = new ConcurrencyGuard(() => $"model '{Name}'");
    }

    /// <summary>
    /// One thread at a time: Forward, Backward, TrainStep, Predict and Evaluate (and a Trainer's Fit) share the model's
    /// activation buffers, so a call that overlaps another thread's throws <see cref="ConcurrentUseException"/>.
    /// </summary>
    internal ConcurrencyGuard UseGuard { get; }

    /// <summary>The backend.</summary>
    public IBackend Backend { get; }

    /// <summary>Per-sample input shape.</summary>
    public TensorShape InputShape { get; }

    /// <summary>Per-sample output shape (the input shape while the model is empty).</summary>
    public TensorShape OutputShape => _layers.Count == 0 ? InputShape : _layers[^1].OutputShape;

    /// <summary>The initialization seed.</summary>
    public ulong Seed { get; }

    /// <summary>The model's name.</summary>
    public string Name { get; set; }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

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

    private bool _anomalyDetection;

    // "4:residual_1/0:conv1" -> "residual_1/conv1": names without the indices.
    private static string LayerPath(string path) =>
        string.Join('/', path.Split('/').Select(part => part[(part.IndexOf(':', StringComparison.Ordinal) + 1)..]));

    /// <summary>Appends a layer, builds it against the current output shape and returns the model for chaining.</summary>
    public Sequential Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrEmpty(layer.Name)) layer.Name = UniqueName(layer.TypeName.ToLowerInvariant());
        else if (_layers.Any(l => l.Name == layer.Name))
            throw new ConvNetArgumentException($"Model '{Name}' already has a layer named '{layer.Name}'; layer names must be unique.");
        try
        {
            layer.Build(Backend, OutputShape, HostRandom.Derive(Seed, (ulong)_layers.Count + 1));
        }
        catch (ConvNetArgumentException e)
        {
            string message = $"Cannot add layer #{_layers.Count} '{layer.Name}' ({layer.TypeName}) after output shape {OutputShape}: {e.Message}";
            throw e switch
            {
                InvalidGeometryException => new InvalidGeometryException(message),
                ShapeMismatchException => new ShapeMismatchException(message),
                _ => new ConvNetArgumentException(message),
            };
        }
        layer.RequiresInputGradient = _layers.Count > 0;
        _layers.Add(layer);
        _namedParameters = null;
        _namedState = null;
        return this;
    }

    /// <summary>Appends several layers in order.</summary>
    public Sequential Add(params Layer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var l in layers) Add(l);
        return this;
    }

    private string UniqueName(string baseName)
    {
        for (int i = 1; ; i++)
        {
            string candidate = $"{baseName}_{i}";
            if (_layers.All(l => l.Name != candidate)) return candidate;
        }
    }

    /// <summary>Every trainable parameter in a fixed order (layer by layer), as optimizers see them.</summary>
    public IReadOnlyList<Parameter> Parameters => NamedParameters.Select(p => p.Parameter).ToList();

    /// <summary>Every trainable parameter with a stable key such as "0:conv2d_1/weight" (used by checkpoints).</summary>
    public IReadOnlyList<(string Key, Parameter Parameter)> NamedParameters
    {
        get
        {
            if (_namedParameters is null)
            {
                _namedParameters = [];
                _namedState = [];
                for (int i = 0; i < _layers.Count; i++) Collect(_layers[i], $"{i}:{_layers[i].Name}", _namedParameters, _namedState);
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
    public long TrainableParameterCount => _layers.Sum(l => l.TrainableParameterCount);

    /// <summary>The Keras-style summary: output shape and parameter count per layer, and totals.</summary>
    public ModelSummary Summary()
    {
        var rows = new List<LayerSummary>();
        void AddRows(Layer l, string prefix, int depth)
        {
            rows.Add(new LayerSummary(prefix + l.Name, l.TypeName, l.OutputShape, l.TrainableParameterCount, l.NonTrainableParameterCount, depth));
            foreach (var c in l.Children) AddRows(c, prefix + l.Name + "/", depth + 1);
        }
        foreach (var l in _layers) AddRows(l, "", 0);
        return new ModelSummary(Name, InputShape, rows);
    }

    /// <summary>
    /// Runs every layer on a batch (N, input sample...) on the backend. The returned tensor belongs to the last layer
    /// and stays valid until the next forward pass.
    /// </summary>
    public Tensor Forward(Tensor input, bool training)
    {
        using var use = UseGuard.Enter("Forward");
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_layers.Count == 0) throw new InvalidOperationException($"Model '{Name}' has no layers.");
        var h = input;
        foreach (var layer in _layers) h = layer.Forward(h, training);
        return h;
    }

    /// <summary>
    /// Back-propagates the loss gradient with respect to the last output through every layer, overwriting every
    /// parameter gradient. Must follow a training-mode <see cref="Forward"/>.
    /// </summary>
    public void Backward(Tensor gradOutput) => Backward(gradOutput, null);

    /// <summary>
    /// <see cref="Backward(Tensor)"/>, calling <paramref name="layerDone"/> after each top-level layer's backward pass
    /// (last layer first), when that layer's parameter gradients are final: data-parallel training starts the
    /// all-reduce of finished gradient buckets there, while the layers below still run.
    /// </summary>
    public void Backward(Tensor gradOutput, Action<Layer>? layerDone)
    {
        using var use = UseGuard.Enter("Backward");
        ArgumentNullException.ThrowIfNull(gradOutput);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Tensor? g = gradOutput;
        for (int i = _layers.Count - 1; i >= 0; i--)
        {
            // The first layer returns no input gradient; it still has its own parameter gradients to finish.
            if (g is not null) g = _layers[i].Backward(g);
            layerDone?.Invoke(_layers[i]);
        }
    }

    /// <summary>
    /// One optimization step with any loss: forward in training mode on <paramref name="input"/> (N, input sample),
    /// <paramref name="loss"/> against <paramref name="targets"/> (int32 labels for classification losses, floats for
    /// <see cref="MeanSquaredErrorLoss"/>), backward, and an <paramref name="optimizer"/> update. Returns the mean loss;
    /// a non-finite loss skips the update and is returned as is.
    /// </summary>
    public float TrainStep(Tensor input, Tensor targets, Loss loss, Optimizers.Optimizer optimizer)
    {
        using var use = UseGuard.Enter("TrainStep");
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        float value = loss.Forward(Forward(input, training: true), targets);
        if (!float.IsFinite(value)) return value;
        Backward(loss.Backward());
        optimizer.Step(Parameters);
        return value;
    }

    /// <summary>A model-owned input buffer of (batch, input sample), reused between calls.</summary>
    internal Tensor InputBuffer(int batch)
    {
        var shape = Shapes.Batch(InputShape, batch);
        if (_inputBuffer is null || !_inputBuffer.Shape.SameDimensions(shape))
        {
            _inputBuffer?.Dispose();
            _inputBuffer = Persistent.Allocate(Backend, shape);
        }
        return _inputBuffer;
    }

    /// <summary>A model-owned int32 label buffer (batch), reused between calls.</summary>
    internal Tensor LabelBuffer(int batch)
    {
        if (_labelBuffer is null || _labelBuffer.ElementCount != batch)
        {
            _labelBuffer?.Dispose();
            _labelBuffer = Persistent.Allocate(Backend, TensorShape.Vector(batch), DataType.Int32);
        }
        return _labelBuffer;
    }

    private int ClassCount()
    {
        if (OutputShape.Rank != 1)
            throw new InvalidOperationException($"Model '{Name}' outputs {OutputShape}, not class scores (F); add Flatten and Dense.");
        return OutputShape[0];
    }

    /// <summary>
    /// Class probabilities and predicted classes for <paramref name="count"/> samples given as host floats
    /// (count x input sample, row-major). Runs in evaluation mode, <paramref name="batchSize"/> samples at a time. The
    /// model's outputs are treated as logits and passed through a softmax, unless the model already ends in <see cref="Softmax"/>.
    /// </summary>
    public Prediction Predict(ReadOnlySpan<float> images, int count, int batchSize = 256)
    {
        using var use = UseGuard.Enter("Predict");
        int classes = ClassCount();
        long sample = InputShape.ElementCount;
        if (count < 1)
            throw new ConvNetArgumentException($"Predict: the sample count must be at least 1, got {count} (with {images.Length} floats); there is nothing to predict.", nameof(count));
        if (images.Length != count * sample)
            throw new ShapeMismatchException($"Predict: expected {count} samples of {InputShape} ({count * sample} floats), got {images.Length} floats.");
        if (batchSize < 1) throw new ConvNetArgumentException($"Predict: batch size must be positive, got {batchSize}.", nameof(batchSize));
        var probabilities = new float[count * classes];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = InputBuffer(n);
            input.Upload(images.Slice((int)(start * sample), (int)(n * sample)));
            var p = Probabilities(Forward(input, training: false));
            p.Download(probabilities.AsSpan(start * classes, n * classes));
        }
        var predicted = new int[count];
        for (int i = 0; i < count; i++) predicted[i] = ArgMax(probabilities.AsSpan(i * classes, classes));
        return new Prediction(probabilities, predicted, classes);
    }

    private Tensor Probabilities(Tensor output)
    {
        if (_layers[^1] is Softmax) return output;
        if (_probabilityBuffer is null || !_probabilityBuffer.Shape.SameDimensions(output.Shape))
        {
            _probabilityBuffer?.Dispose();
            _probabilityBuffer = Persistent.Allocate(Backend, output.Shape);
        }
        Backend.SoftmaxForward(output, _probabilityBuffer);
        return _probabilityBuffer;
    }

    internal static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    /// <summary>
    /// Loss, accuracy and confusion matrix on labelled host data, in evaluation mode. The loss is
    /// <paramref name="loss"/> (default softmax cross-entropy) on the model's logits, or the negative log-likelihood
    /// of the probabilities when the model ends in <see cref="Softmax"/>.
    /// </summary>
    public EvaluationResult Evaluate(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, int batchSize = 256, ClassificationLoss? loss = null)
    {
        using var use = UseGuard.Enter("Evaluate");
        int classes = ClassCount();
        int count = labels.Length;
        long sample = InputShape.ElementCount;
        if (count < 1)
            throw new ConvNetArgumentException($"Evaluate: the labelled data is empty (0 labels, {images.Length} floats); there is nothing to evaluate.", nameof(labels));
        if (images.Length != count * sample)
            throw new ShapeMismatchException($"Evaluate: expected {count} samples of {InputShape} ({count * sample} floats) for {count} labels, got {images.Length} floats.");
        for (int i = 0; i < count; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ConvNetArgumentException($"Evaluate: label {labels[i]} at index {i} is outside [0, {classes}).", nameof(labels));
        using var ownLoss = loss is null ? new SoftmaxCrossEntropyLoss() : null;
        var lossFn = loss ?? ownLoss!;
        var confusion = new ConfusionMatrix(classes);
        double lossSum = 0;
        var probs = new float[Math.Min(batchSize, count) * classes];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = InputBuffer(n);
            input.Upload(images.Slice((int)(start * sample), (int)(n * sample)));
            var labelTensor = LabelBuffer(n);
            labelTensor.Upload(labels.Slice(start, n));
            var output = Forward(input, training: false);
            Tensor p;
            if (_layers[^1] is Softmax)
            {
                p = output;
                p.Download(probs.AsSpan(0, n * classes));
                for (int i = 0; i < n; i++) lossSum -= Math.Log(Math.Max(probs[i * classes + labels[start + i]], 1e-30f));
            }
            else
            {
                lossSum += (double)lossFn.Forward(output, labelTensor) * n;
                lossFn.Probabilities.Download(probs.AsSpan(0, n * classes));
            }
            for (int i = 0; i < n; i++) confusion.Add(labels[start + i], ArgMax(probs.AsSpan(i * classes, classes)));
        }
        return new EvaluationResult((float)(lossSum / count), confusion);
    }

    /// <summary>The architecture as JSON: input shape, seed and every layer's type and hyper-parameters.</summary>
    public JsonObject GetArchitecture()
    {
        var layers = new JsonArray();
        foreach (var l in _layers) layers.Add((JsonNode)l.GetConfig());
        return new JsonObject
        {
            ["format"] = "convnet.sequential",
            ["version"] = 1,
            ["name"] = Name,
            ["input_shape"] = InputShape.Dimensions.ToJsonArray(),
            ["input_names"] = new JsonArray(InputShape.Names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
            ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["layers"] = layers,
        };
    }

    /// <summary>The architecture JSON as indented text.</summary>
    public string ToJson() => GetArchitecture().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Rebuilds a freshly initialized model from <see cref="ToJson"/> output (weights come from a checkpoint).</summary>
    public static Sequential FromJson(string json, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject o;
        try
        {
            o = JsonNode.Parse(json) as JsonObject ?? throw new ConvNetArgumentException("Architecture: the JSON is not an object.");
        }
        catch (JsonException e)
        {
            throw new ConvNetArgumentException($"Architecture: invalid JSON ({e.Message}).");
        }
        return FromArchitecture(o, backend);
    }

    /// <summary>Rebuilds a freshly initialized model from <see cref="GetArchitecture"/> output.</summary>
    public static Sequential FromArchitecture(JsonObject architecture, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        if (architecture["format"]?.GetValue<string>() != "convnet.sequential")
            throw new ConvNetArgumentException($"Architecture: expected format \"convnet.sequential\", found {architecture["format"]?.ToJsonString() ?? "none"}.");
        var dims = architecture.GetArray("input_shape").ToIntArray();
        var names = architecture["input_names"] is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToArray()
            : dims.Length == 3 ? ["C", "H", "W"] : Enumerable.Range(0, dims.Length).Select(i => "d" + i).ToArray();
        ulong seed = ulong.Parse(architecture.GetString("seed"), System.Globalization.CultureInfo.InvariantCulture);
        var model = new Sequential(backend, new TensorShape(dims, names), seed, architecture.GetOptionalString("name") ?? "sequential");
        try
        {
            foreach (var node in architecture.GetArray("layers"))
                model.Add(LayerRegistry.Create(node as JsonObject ?? throw new ConvNetArgumentException("Architecture: a layer entry is not an object.")));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Saves architecture, weights, running statistics and dropout RNG to a checkpoint file (written atomically).</summary>
    public void Save(string path) => Checkpoints.ModelCheckpoint.Save(path, this);

    /// <summary>Rebuilds a model from a checkpoint alone, on any backend (checkpoints are device independent).</summary>
    public static Sequential Load(string path, IBackend backend) => Checkpoints.ModelCheckpoint.LoadModel(path, backend);

    /// <summary>Loss, accuracy and confusion matrix on a labelled data set (see <see cref="Evaluate(ReadOnlySpan{float}, ReadOnlySpan{int}, int, ClassificationLoss?)"/>).</summary>
    public EvaluationResult Evaluate(Data.Dataset data, int batchSize = 256, ClassificationLoss? loss = null, Data.Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (normalization is null) return Evaluate(data.Images.Span, data.Labels.Span, batchSize, loss);
        var images = data.Images.ToArray();
        normalization.Apply(images);
        return Evaluate(images, data.Labels.Span, batchSize, loss);
    }

    /// <summary>Frees every layer's tensors and the model's buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var l in _layers) l.Dispose();
        _inputBuffer?.Dispose();
        _labelBuffer?.Dispose();
        _probabilityBuffer?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Sequential '{Name}' ({_layers.Count} layers, {TrainableParameterCount:N0} parameters) on {Backend.Name}";
}

/// <summary>Output of <see cref="Sequential.Predict"/>.</summary>
/// <param name="Probabilities">Row-major (count x classes) probabilities.</param>
/// <param name="Classes">The most probable class of each sample.</param>
/// <param name="ClassCount">Number of classes.</param>
public sealed record Prediction(float[] Probabilities, int[] Classes, int ClassCount)
{
    /// <summary>The probabilities of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> ProbabilitiesOf(int index) => Probabilities.AsSpan(index * ClassCount, ClassCount);
}
