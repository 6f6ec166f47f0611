using System.Text.Json.Nodes;
using ConvNet.Gpu;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;

/// <summary>
/// A layer written outside the library: a learnable scale and shift per channel, y[n, c, ...] = γ[c] · x[n, c, ...] + β[c]
/// (LayerScale with a bias, as in CaiT and ConvNeXt). γ starts at <see cref="InitialScale"/> and β at zero. Built only on
/// public <see cref="IBackend"/> ops, so it runs on every backend; registered with <see cref="LayerRegistry"/> through
/// <see cref="IRestorableLayer{TSelf}"/>, so checkpoints that hold it save and load.
/// </summary>
public sealed class ScaleShift : Layer, IRestorableLayer<ScaleShift>
{
    private Parameter? _scale, _shift;
    private Tensor? _input;

    /// <summary>Creates the layer; γ starts at <paramref name="initialScale"/> in every channel.</summary>
    /// <exception cref="ConvNetArgumentException">The initial scale is not finite.</exception>
    public ScaleShift(float initialScale = 1f, string? name = null) : base(name)
    {
        if (!float.IsFinite(initialScale))
            throw new ConvNetArgumentException($"ScaleShift initial scale must be finite, got {initialScale}.", nameof(initialScale));
        InitialScale = initialScale;
    }

    /// <summary>The value γ starts at.</summary>
    public float InitialScale { get; }

    /// <summary>The type name in saved architectures.</summary>
    public static string LayerType => "ScaleShift";

    /// <inheritdoc/>
    public override string TypeName => LayerType;

    /// <summary>Rebuilds the layer from what <see cref="WriteConfig"/> saved.</summary>
    public static ScaleShift FromConfig(JsonObject config) =>
        new(config.GetFloat("initial_scale"), config.GetOptionalString("name"));

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => inputShape; // (C, ...) in, the same out

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        int channels = InputShape[0];
        // One input feeds each output: fan-in and fan-out 1 (constant initializers ignore them anyway).
        _scale = factory.Create("scale", TensorShape.Vector(channels), Initializer.Constant(InitialScale), fanIn: 1, fanOut: 1);
        _shift = factory.Create("shift", TensorShape.Vector(channels), Initializer.Zeros, fanIn: 1, fanOut: 1);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        _input = input; // kept for the scale's gradient; the caller keeps it alive until Backward
        var y = Buffer("y", input.Shape[0]);
        Backend.ChannelAffine(input, _scale!.Value, _shift!.Value, y);
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"ScaleShift '{Name}': Backward called before Forward.");
        if (Trainable)
        {
            // dβ[c] = Σ dy over N and the rest; dγ[c] = Σ dy · x, through a product buffer.
            Backend.BiasGradient(gradOutput, _shift!.Gradient, accumulate: false);
            var product = Buffer("dy_x", gradOutput.Shape);
            Backend.Mul(gradOutput, x, product);
            Backend.BiasGradient(product, _scale!.Gradient, accumulate: false);
        }
        if (!RequiresInputGradient) return null;
        // dx = γ[c] · dy.
        var dx = InputGradientBuffer(x.Shape);
        Backend.ChannelAffine(gradOutput, _scale!.Value, null, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config) => config["initial_scale"] = InitialScale;
}
