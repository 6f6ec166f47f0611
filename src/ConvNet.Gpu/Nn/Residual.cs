using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A residual block: y = block(x) + skip(x), where skip is the identity or, with a projection, a 1x1 convolution
/// (with stride) that matches the block's output shape. Add an activation after the block in the model for the
/// classic post-activation ResNet unit. Backward sums the gradients of both paths.
/// </summary>
public sealed class Residual : Layer
{
    private readonly List<Layer> _block;
    private Conv2D? _projection;
    private Parameter[] _parameters = [];
    private StateTensor[] _state = [];
    private Tensor? _input;

    /// <summary>Creates a block.</summary>
    /// <param name="block">The layers of the main path, in order.</param>
    /// <param name="projection">Whether the skip path is a learned 1x1 convolution (needed when channels or size change).</param>
    /// <param name="projectionStride">Stride of the projection (match the block's downsampling).</param>
    /// <param name="name">Layer name.</param>
    public Residual(IEnumerable<Layer> block, bool projection = false, int projectionStride = 1, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(block);
        _block = block.ToList();
        if (_block.Count == 0) throw new ConvNetArgumentException("A residual block needs at least one layer.", nameof(block));
        if (projectionStride < 1) throw new InvalidGeometryException($"Residual projection stride must be positive, got {projectionStride}.");
        HasProjection = projection;
        ProjectionStride = projectionStride;
    }

    /// <inheritdoc/>
    public override string TypeName => "Residual";

    /// <summary>Whether the skip path is a 1x1 convolution.</summary>
    public bool HasProjection { get; }

    /// <summary>Stride of the projection.</summary>
    public int ProjectionStride { get; }

    /// <summary>The main path.</summary>
    public IReadOnlyList<Layer> Block => _block;

    /// <summary>The projection, once built (null for an identity skip).</summary>
    public Conv2D? Projection => _projection;

    /// <inheritdoc/>
    public override IReadOnlyList<Layer> Children => _projection is null ? _block : [.. _block, _projection];

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Whether the block learns; setting it sets every layer of the block (main path and projection).</summary>
    public override bool Trainable
    {
        get => base.Trainable;
        set
        {
            base.Trainable = value;
            foreach (var l in _block) l.Trainable = value;
            if (_projection is not null) _projection.Trainable = value;
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyList<StateTensor> State => _state;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        var shape = inputShape;
        foreach (var layer in _block) shape = layer.ComputeOutputShape(shape);
        var skip = inputShape;
        if (HasProjection)
        {
            if (inputShape.Rank != 3 || shape.Rank != 3)
                throw new ShapeMismatchException($"Residual '{Name}': a projection needs image samples, got input {inputShape} and block output {shape}.");
            skip = new Conv2D(shape[0], 1, ProjectionStride).ComputeOutputShape(inputShape);
        }
        if (!skip.SameDimensions(shape))
            throw new ShapeMismatchException(
                $"Residual '{Name}': the block maps {inputShape} to {shape} but the skip path gives {skip}; " +
                (HasProjection ? "adjust the projection stride." : "use projection: true (with the block's stride) to match them."));
        return shape;
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        // A replica (a shared block's later call) builds its layers as replicas of the original's, sharing their parameters.
        var original = ReplicaOf as Residual;
        var shape = InputShape;
        for (int i = 0; i < _block.Count; i++)
        {
            if (string.IsNullOrEmpty(_block[i].Name)) _block[i].Name = $"{_block[i].TypeName.ToLowerInvariant()}_{i}";
            ulong seed = HostRandom.Derive(factory.Seed, (ulong)i + 1);
            if (original is null) _block[i].Build(factory.Backend, shape, seed);
            else _block[i].BuildReplica(original._block[i], seed);
            shape = _block[i].OutputShape;
        }
        if (HasProjection)
        {
            _projection = new Conv2D(shape[0], 1, ProjectionStride, name: "projection") { Trainable = base.Trainable };
            if (original is null) _projection.Build(factory.Backend, InputShape, HostRandom.Derive(factory.Seed, 1000));
            else _projection.BuildReplica(original._projection!, HostRandom.Derive(factory.Seed, 1000));
        }
        _parameters = Children.SelectMany(c => c.Parameters).ToArray();
        _state = Children.SelectMany(c => c.State).ToArray();
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        var h = input;
        foreach (var layer in _block) h = layer.Forward(h, training);
        var skip = _projection?.Forward(input, training) ?? input;
        var y = Buffer("y", input.Shape[0]);
        Backend.Add(h, skip, y);
        _input = input;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        var g = gradOutput;
        _block[0].RequiresInputGradient = RequiresInputGradient;
        if (_projection is not null) _projection.RequiresInputGradient = RequiresInputGradient;
        for (int i = _block.Count - 1; i >= 0; i--) g = _block[i].Backward(g)!;
        var gSkip = _projection is null ? gradOutput : _projection.Backward(gradOutput);
        if (!RequiresInputGradient) return null;
        var dx = InputGradientBuffer(x.Shape);
        Backend.Add(g, gSkip!, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        var layers = new JsonArray();
        foreach (var l in _block) layers.Add((JsonNode)l.GetConfig());
        config["layers"] = layers;
        config["projection"] = HasProjection;
        config["projection_stride"] = ProjectionStride;
    }

    internal static Residual FromConfig(JsonObject c) =>
        new(c.GetArray("layers").Select(n => LayerRegistry.Create(n as JsonObject
                ?? throw new ConvNetArgumentException($"Architecture: residual block layers must be objects, found {n?.ToJsonString()}."))),
            c.GetBool("projection"), c.GetInt("projection_stride", 1), c.GetOptionalString("name"));

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        foreach (var l in Children) l.Dispose();
        base.Dispose(disposing);
    }
}
