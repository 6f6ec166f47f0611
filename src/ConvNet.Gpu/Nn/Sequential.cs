using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A stack of layers, Keras style, and a thin builder of a chain-shaped <see cref="Model"/>: give the per-sample input
/// shape up front, <see cref="Add(Layer)"/> layers (each is built at once, so shapes are inferred and errors point at the
/// layer that does not fit), inspect with <see cref="Model.Summary"/>,
/// then train with <c>ConvNet.Gpu.Training.Trainer</c> or call <see cref="Model.Forward(Tensor, bool)"/> and
/// <see cref="Model.Backward(Tensor)"/> yourself. Everything runs through the model's <see cref="IBackend"/>;
/// initialization is seeded and deterministic.
/// </summary>
/// <example>
/// <code>
/// using var model = new Sequential(backend, inputShape: (1, 28, 28), seed: 42)
///     .Add(new Conv2D(6, kernelSize: 5, padding: 2)).Add(new ReLU()).Add(new MaxPool2D(2))
///     .Add(new Flatten()).Add(new Dense(10));
/// Console.WriteLine(model.Summary());
/// </code>
/// </example>
public sealed class Sequential : Model
{
    /// <summary>The "format" of a sequential model's architecture JSON.</summary>
    public const string ArchitectureFormat = "convnet.sequential";


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
        : base(backend, CheckInput(inputShape), seed, name)
    {
    }

    private static TensorShape CheckInput(TensorShape inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Rank >= TensorShape.MaxRank)
            throw new ShapeMismatchException($"The input shape is per sample (no batch dimension) and has rank at most 3, got {inputShape}.");
        return inputShape;
    }

    /// <inheritdoc/>
    private protected override bool SummaryShowsConnections => false;

    /// <summary>Appends a layer, builds it against the current output shape and returns the model for chaining.</summary>
    /// <exception cref="ConvNetArgumentException">The name is taken, or the layer does not fit the current output shape (the message names both).</exception>
    public Sequential Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (string.IsNullOrEmpty(layer.Name)) layer.Name = UniqueName(layer.TypeName.ToLowerInvariant());
        else if (Layers.Any(l => l.Name == layer.Name))
            throw new ConvNetArgumentException($"Model '{Name}' already has a layer named '{layer.Name}'; layer names must be unique.");
        var shape = OutputShape;
        try
        {
            layer.Build(Backend, shape, HostRandom.Derive(Seed, (ulong)Layers.Count + 1));
        }
        catch (ConvNetArgumentException e)
        {
            string message = $"Cannot add layer #{Layers.Count} '{layer.Name}' ({layer.TypeName}) after output shape {shape}: {e.Message}";
            throw e switch
            {
                InvalidGeometryException => new InvalidGeometryException(message),
                ShapeMismatchException => new ShapeMismatchException(message),
                _ => new ConvNetArgumentException(message),
            };
        }
        layer.RequiresInputGradient = Layers.Count > 0;
        AppendBuilt(layer);
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
            if (Layers.All(l => l.Name != candidate)) return candidate;
        }
    }

    /// <summary>The architecture as JSON: input shape, seed and every layer's type and hyper-parameters.</summary>
    public override JsonObject GetArchitecture()
    {
        var layers = new JsonArray();
        foreach (var l in Layers) layers.Add((JsonNode)l.GetConfig());
        return new JsonObject
        {
            ["format"] = ArchitectureFormat,
            ["version"] = 1,
            ["name"] = Name,
            ["input_shape"] = InputShape.Dimensions.ToJsonArray(),
            ["input_names"] = new JsonArray(InputShape.Names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["layers"] = layers,
        };
    }

    /// <summary>Rebuilds a freshly initialized model from <see cref="Model.ToJson"/> output (weights come from a checkpoint).</summary>
    public static new Sequential FromJson(string json, IBackend backend) => FromArchitecture(ParseArchitecture(json), backend);

    /// <summary>Rebuilds a freshly initialized model from <see cref="GetArchitecture"/> output.</summary>
    /// <exception cref="ConvNetArgumentException">The description is not a sequential model's or is invalid.</exception>
    public static new Sequential FromArchitecture(JsonObject architecture, IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        if (architecture["format"] is not JsonValue f || !f.TryGetValue<string>(out var format) || format != ArchitectureFormat)
            throw new ConvNetArgumentException($"Architecture: expected format \"{ArchitectureFormat}\", found {architecture["format"]?.ToJsonString() ?? "none"}.");
        var dims = architecture.GetArray("input_shape").ToIntArray();
        var names = architecture["input_names"] is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToArray()
            : dims.Length == 3 ? ["C", "H", "W"] : Enumerable.Range(0, dims.Length).Select(i => "d" + i).ToArray();
        ulong seed = ulong.Parse(architecture.GetString("seed"), CultureInfo.InvariantCulture);
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

    /// <inheritdoc/>
    public override string ToString() => $"Sequential '{Name}' ({Layers.Count} layers, {TrainableParameterCount:N0} parameters) on {Backend.Name}";
}
