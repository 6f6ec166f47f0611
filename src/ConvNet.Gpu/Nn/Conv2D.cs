using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// 2-D convolution: input (N, C, H, W), weight (K, C/groups, KH, KW), optional bias (K), output (N, K, OH, OW).
/// Supports every <see cref="Conv2dSpec"/> option (kernel, stride, padding modes or explicit per-side amounts,
/// dilation, groups) and an optional <see cref="ConnectionTable"/> (LeNet-5's C3) that pins unconnected kernels at zero.
/// </summary>
public sealed class Conv2D : Layer, IFusedActivationHost
{
    private Parameter? _weight, _bias;
    private Tensor? _mask;
    private Tensor? _input, _output;
    private Conv2dGeometry? _geometry;
    private Epilogue? _ranEpilogue;

    /// <inheritdoc/>
    Epilogue? IFusedActivationHost.FusedEpilogue { get; set; }

    /// <inheritdoc/>
    bool IFusedActivationHost.CanFuse => Trainable && Backend.IsCuda;

    /// <summary>Creates a convolution from a full specification.</summary>
    /// <param name="outChannels">K, the number of output maps.</param>
    /// <param name="spec">Kernel, stride, padding, dilation and groups.</param>
    /// <param name="useBias">Whether to add a learned bias per output map.</param>
    /// <param name="connections">Optional input-to-output map table (groups must be 1); null connects every map.</param>
    /// <param name="weightInitializer">Weight initializer (default <see cref="Initializer.FanInUniform"/>, PyTorch's).</param>
    /// <param name="biasInitializer">Bias initializer (default <see cref="Initializer.FanInUniform"/> with the weight's fan-in, PyTorch's).</param>
    /// <param name="name">Layer name (default: assigned by the model).</param>
    public Conv2D(int outChannels, Conv2dSpec spec, bool useBias = true, ConnectionTable? connections = null,
        Initializer? weightInitializer = null, Initializer? biasInitializer = null, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (outChannels <= 0)
            throw new InvalidGeometryException($"Conv2D needs at least one output channel, got outChannels={outChannels}.");
        if (connections is not null && spec.Groups != 1)
            throw new InvalidGeometryException($"Conv2D: a connection table needs groups=1, got groups={spec.Groups}.");
        if (connections is not null && connections.Outputs != outChannels)
            throw new InvalidGeometryException($"Conv2D: the connection table has {connections.Outputs} output maps but outChannels={outChannels}.");
        OutChannels = outChannels;
        Spec = spec;
        UseBias = useBias;
        Connections = connections;
        WeightInitializer = weightInitializer ?? Initializer.FanInUniform;
        BiasInitializer = biasInitializer ?? Initializer.FanInUniform;
    }

    /// <summary>Creates a convolution with a square kernel and symmetric padding.</summary>
    /// <param name="outChannels">K, the number of output maps.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Stride in both directions.</param>
    /// <param name="padding">Zeros added on every side.</param>
    /// <param name="dilation">Dilation in both directions.</param>
    /// <param name="groups">Channel groups (1 dense, C depthwise).</param>
    /// <param name="useBias">Whether to add a learned bias per output map.</param>
    /// <param name="connections">Optional input-to-output map table.</param>
    /// <param name="weightInitializer">Weight initializer (default <see cref="Initializer.FanInUniform"/>, PyTorch's).</param>
    /// <param name="name">Layer name.</param>
    public Conv2D(int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        bool useBias = true, ConnectionTable? connections = null, Initializer? weightInitializer = null, string? name = null)
        : this(outChannels, Conv2dSpec.Square(kernelSize, stride, padding, dilation, groups), useBias, connections,
            weightInitializer, null, name)
    {
    }

    /// <inheritdoc/>
    public override string TypeName => "Conv2D";

    /// <summary>K, the number of output maps.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel, stride, padding, dilation and groups.</summary>
    public Conv2dSpec Spec { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool UseBias { get; }

    /// <summary>The partial connection table, if any.</summary>
    public ConnectionTable? Connections { get; }

    /// <summary>Weight initializer.</summary>
    public Initializer WeightInitializer { get; }

    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The weight (K, C/groups, KH, KW).</summary>
    public Parameter Weight => _weight ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias (K), or null without bias.</summary>
    public Parameter? Bias => _bias;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"Conv2D '{Name}'", inputShape);
        if (Connections is not null && Connections.Inputs != inputShape[0])
            throw new InvalidGeometryException(
                $"Conv2D '{Name}': the connection table has {Connections.Inputs} input maps but the input has C={inputShape[0]} ({inputShape}).");
        var g = Spec.Resolve(Shapes.Batch(inputShape, 1), OutChannels);
        return Shapes.Image(g.K, g.OH, g.OW);
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        int c = InputShape[0];
        var wShape = Spec.WeightShape(c, OutChannels);
        int plane = Spec.KernelH * Spec.KernelW;
        int fanIn = c / Spec.Groups * plane, fanOut = OutChannels / Spec.Groups * plane;
        float[]? mask = null;
        long count = wShape.ElementCount;
        if (Connections is not null)
        {
            mask = Connections.WeightMask(Spec.KernelH, Spec.KernelW);
            count = (long)Connections.ConnectionCount * plane;
            // Fans of a partially connected map: the average number of inputs (outputs) it actually has.
            fanIn = (int)Math.Round((double)Connections.ConnectionCount / OutChannels * plane);
            fanOut = (int)Math.Round((double)Connections.ConnectionCount / c * plane);
        }
        _weight = factory.Create("weight", wShape, WeightInitializer, fanIn, fanOut, count, mask);
        if (UseBias) _bias = factory.Create("bias", TensorShape.Vector(OutChannels), BiasInitializer, fanIn, fanOut);
        if (mask is not null)
        {
            _mask = Persistent.Allocate(factory.Backend, wShape);
            _mask.Upload(mask);
        }
    }

    private Conv2dGeometry Geometry(int batch)
    {
        if (_geometry is null || _geometry.N != batch)
            _geometry = Spec.Resolve(Shapes.Batch(InputShape, batch), OutChannels);
        return _geometry;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var g = Geometry(n);
        var y = Buffer("y", n);
        _ranEpilogue = ((IFusedActivationHost)this).FusedEpilogue;
        if (_ranEpilogue is { } epilogue) Backend.Conv2dForward(input, Weight.Value, _bias?.Value, y, g, epilogue);
        else Backend.Conv2dForward(input, Weight.Value, _bias?.Value, y, g);
        _input = input;
        _output = y;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        int n = gradOutput.Shape[0];
        var g = Geometry(n);
        var dx = RequiresInputGradient ? InputGradientBuffer(x.Shape) : null;
        if (Trainable)
        {
            // One op for dW, db and dx: the CUDA backend reads dL/dy once for the bias gradient and both GEMMs' layouts.
            Backend.Conv2dBackward(x, Weight.Value, _ranEpilogue is null ? null : _output, gradOutput, _ranEpilogue ?? Epilogue.None,
                Weight.Gradient, _bias?.Gradient, dx, g, accumulate: false);
            if (_mask is not null) Backend.Mul(Weight.Gradient, _mask, Weight.Gradient);
        }
        else if (dx is not null) Backend.Conv2dBackwardData(gradOutput, Weight.Value, dx, g);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["out_channels"] = OutChannels;
        WriteSpec(config, Spec);
        config["use_bias"] = UseBias;
        config["weight_initializer"] = WeightInitializer.Name;
        config["bias_initializer"] = BiasInitializer.Name;
        if (Connections is not null)
        {
            var rows = new JsonArray();
            foreach (var r in Connections.ToRows()) rows.Add((JsonNode)JsonValue.Create(r));
            config["connections"] = rows;
        }
    }

    internal static void WriteSpec(JsonObject config, Conv2dSpec spec)
    {
        config["kernel"] = new[] { spec.KernelH, spec.KernelW }.ToJsonArray();
        config["stride"] = new[] { spec.StrideH, spec.StrideW }.ToJsonArray();
        config["padding"] = spec.Padding.ToJson();
        config["dilation"] = new[] { spec.DilationH, spec.DilationW }.ToJsonArray();
        config["groups"] = spec.Groups;
    }

    internal static Conv2dSpec ReadSpec(JsonObject config)
    {
        var k = config.GetArray("kernel").ToIntArray();
        var s = config.GetArray("stride").ToIntArray();
        var d = config.GetArray("dilation").ToIntArray();
        return new Conv2dSpec(k[0], k[1], s[0], s[1], config.GetPadding("padding"), d[0], d[1], config.GetInt("groups", 1));
    }

    internal static Conv2D FromConfig(JsonObject config)
    {
        ConnectionTable? table = config["connections"] is JsonArray rows
            ? ConnectionTable.Parse(rows.Select(r => r!.GetValue<string>()).ToArray())
            : null;
        return new Conv2D(config.GetInt("out_channels"), ReadSpec(config), config.GetBool("use_bias", true), table,
            Initializer.FromName(config.GetString("weight_initializer")), Initializer.FromName(config.GetString("bias_initializer")),
            config.GetOptionalString("name"));
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _mask?.Dispose();
        base.Dispose(disposing);
    }
}
