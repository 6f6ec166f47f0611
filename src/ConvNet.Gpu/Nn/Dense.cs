using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Fully connected layer: y = x Wᵀ + b with weight (units, features) as in PyTorch and bias (units).
/// Any input sample shape is flattened to its element count, so Dense may follow a convolution directly.
/// </summary>
public sealed class Dense : Layer, IFusedActivationHost
{
    private Parameter? _weight, _bias;
    private Tensor? _input, _output;
    private Epilogue? _ranEpilogue;

    /// <inheritdoc/>
    Epilogue? IFusedActivationHost.FusedEpilogue { get; set; }

    /// <inheritdoc/>
    bool IFusedActivationHost.CanFuse => Trainable && Backend.IsCuda;

    /// <summary>Creates a dense layer.</summary>
    /// <param name="units">Number of outputs.</param>
    /// <param name="useBias">Whether to add a learned bias.</param>
    /// <param name="weightInitializer">Weight initializer (default <see cref="Initializer.FanInUniform"/>, PyTorch's).</param>
    /// <param name="biasInitializer">Bias initializer (default <see cref="Initializer.FanInUniform"/> with the weight's fan-in, PyTorch's).</param>
    /// <param name="name">Layer name.</param>
    public Dense(int units, bool useBias = true, Initializer? weightInitializer = null, Initializer? biasInitializer = null,
        string? name = null) : base(name)
    {
        if (units <= 0) throw new ConvNetArgumentException($"Dense needs at least one unit, got units={units}.", nameof(units));
        Units = units;
        UseBias = useBias;
        WeightInitializer = weightInitializer ?? Initializer.FanInUniform;
        BiasInitializer = biasInitializer ?? Initializer.FanInUniform;
    }

    /// <inheritdoc/>
    public override string TypeName => "Dense";

    /// <summary>Number of outputs.</summary>
    public int Units { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool UseBias { get; }

    /// <summary>Weight initializer.</summary>
    public Initializer WeightInitializer { get; }

    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>Input features (the flattened input sample size).</summary>
    public int InputFeatures => (int)InputShape.ElementCount;

    /// <summary>The weight (units, features).</summary>
    public Parameter Weight => _weight ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias (units), or null.</summary>
    public Parameter? Bias => _bias;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => Shapes.Features(Units);

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        int f = InputFeatures;
        _weight = factory.Create("weight", new TensorShape([Units, f], ["out", "in"]), WeightInitializer, f, Units);
        if (UseBias) _bias = factory.Create("bias", TensorShape.Vector(Units), BiasInitializer, f, Units);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0], f = InputFeatures;
        var y = Buffer("y", n);
        // y (N x units) = x (N x f) * Wᵀ, W stored (units x f).
        _ranEpilogue = ((IFusedActivationHost)this).FusedEpilogue;
        if (_ranEpilogue is { } epilogue) Backend.LinearForward(input, Weight.Value, _bias?.Value, y, epilogue);
        else
        {
            Backend.Gemm(false, true, n, Units, f, 1f, input, Weight.Value, 0f, y);
            if (_bias is not null) Backend.BiasAdd(y, _bias.Value);
        }
        _input = input;
        _output = y;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        int n = gradOutput.Shape[0], f = InputFeatures;
        var dx = RequiresInputGradient ? InputGradientBuffer(x.Shape) : null;
        // dW (units x f) = dYᵀ (units x N) * x (N x f), db = column sums of dY, dx (N x f) = dY (N x units) * W (units x f): one op.
        if (Trainable)
            Backend.LinearBackward(x, Weight.Value, _ranEpilogue is null ? null : _output, gradOutput, _ranEpilogue ?? Epilogue.None,
                Weight.Gradient, _bias?.Gradient, dx, accumulate: false);
        else if (dx is not null) Backend.Gemm(false, false, n, f, Units, 1f, gradOutput, Weight.Value, 0f, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["units"] = Units;
        config["use_bias"] = UseBias;
        config["weight_initializer"] = WeightInitializer.Name;
        config["bias_initializer"] = BiasInitializer.Name;
    }

    internal static Dense FromConfig(JsonObject c) =>
        new(c.GetInt("units"), c.GetBool("use_bias", true), Initializer.FromName(c.GetString("weight_initializer")),
            Initializer.FromName(c.GetString("bias_initializer")), c.GetOptionalString("name"));
}

/// <summary>Flattens each sample to a feature vector: (N, C, H, W) to (N, C*H*W). A view: no data moves.</summary>
public sealed class Flatten : Layer
{
    private Tensor? _outputView, _gradView;

    /// <summary>Creates the layer.</summary>
    public Flatten(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Flatten";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => Shapes.Features((int)inputShape.ElementCount);

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        _outputView?.Dispose();
        _outputView = input.Reshape(Shapes.Batch(OutputShape, input.Shape[0]));
        return _outputView;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        _gradView?.Dispose();
        _gradView = gradOutput.Reshape(Shapes.Batch(InputShape, gradOutput.Shape[0]));
        return _gradView;
    }
}
