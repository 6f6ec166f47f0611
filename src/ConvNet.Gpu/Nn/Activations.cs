using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>An element-wise activation layer running <see cref="IBackend.ActivationForward"/> and its backward.</summary>
public abstract class ActivationLayer : Layer
{
    private Tensor? _input, _output;

    /// <summary>Creates the layer for <paramref name="kind"/> with parameter <paramref name="alpha"/>.</summary>
    protected ActivationLayer(ActivationKind kind, float alpha, string? name) : base(name)
    {
        if (!float.IsFinite(alpha)) throw new ConvNetArgumentException($"Activation alpha must be finite, got {alpha}.", nameof(alpha));
        Kind = kind;
        Alpha = alpha;
    }

    /// <summary>The function.</summary>
    public ActivationKind Kind { get; }

    /// <summary>Negative slope (LeakyReLU) or saturation (ELU); unused otherwise.</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => inputShape;

    /// <summary>
    /// Set by the model for one pass when the convolution or dense layer feeding this one applies the activation in its
    /// own epilogue (<see cref="IFusedActivationHost"/>): forward and backward then pass values and gradients through.
    /// </summary>
    internal bool FusedIntoProducer { get; set; }

    /// <summary>The epilogue that applies this activation, when it can be differentiated from its output alone.</summary>
    internal Epilogue? FusableEpilogue => Epilogue.Of(Kind, Alpha) is { CanDifferentiateFromOutput: true } e ? e : null;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        if (FusedIntoProducer)
        {
            _input = _output = input;
            return input;
        }
        var y = Buffer("y", input.Shape[0]);
        Backend.ActivationForward(Kind, Alpha, input, y);
        _input = input;
        _output = y;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        if (FusedIntoProducer) return gradOutput; // the producer's fused backward applies the derivative
        var dx = InputGradientBuffer(gradOutput.Shape[0]);
        Backend.ActivationBackward(Kind, Alpha, x, _output!, gradOutput, dx);
        return dx;
    }
}

/// <summary>max(x, 0).</summary>
public sealed class ReLU(string? name = null) : ActivationLayer(ActivationKind.ReLU, 0f, name)
{
    /// <inheritdoc/>
    public override string TypeName => "ReLU";
}

/// <summary>x for x &gt; 0, negativeSlope*x otherwise.</summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f, string? name = null) : ActivationLayer(ActivationKind.LeakyReLU, negativeSlope, name)
{
    /// <inheritdoc/>
    public override string TypeName => "LeakyReLU";

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config) => config["alpha"] = Alpha;
}

/// <summary>x for x &gt; 0, alpha*(exp(x) - 1) otherwise.</summary>
public sealed class ELU(float alpha = 1f, string? name = null) : ActivationLayer(ActivationKind.ELU, alpha, name)
{
    /// <inheritdoc/>
    public override string TypeName => "ELU";

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config) => config["alpha"] = Alpha;
}

/// <summary>1 / (1 + exp(-x)).</summary>
public sealed class Sigmoid(string? name = null) : ActivationLayer(ActivationKind.Sigmoid, 0f, name)
{
    /// <inheritdoc/>
    public override string TypeName => "Sigmoid";
}

/// <summary>tanh(x), LeNet-5's squashing function.</summary>
public sealed class Tanh(string? name = null) : ActivationLayer(ActivationKind.Tanh, 0f, name)
{
    /// <inheritdoc/>
    public override string TypeName => "Tanh";
}

/// <summary>
/// Softmax over the features of each sample: (N, classes) to probabilities. For training a classifier, prefer
/// ending the model with logits and using <see cref="Losses.SoftmaxCrossEntropyLoss"/>, which is more stable.
/// </summary>
public sealed class Softmax(string? name = null) : Layer(name)
{
    private Tensor? _output;

    /// <inheritdoc/>
    public override string TypeName => "Softmax";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 1)
            throw new ShapeMismatchException($"Softmax '{Name}' expects feature vectors (F), got sample shape {inputShape}; add Flatten first.");
        return inputShape;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        var y = Buffer("y", input.Shape[0]);
        Backend.SoftmaxForward(input, y);
        _output = y;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        var dx = InputGradientBuffer(gradOutput.Shape[0]);
        Backend.SoftmaxBackward(_output ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward."), gradOutput, dx);
        return dx;
    }
}
