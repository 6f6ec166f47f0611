using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Batch normalization per channel: y = gamma * (x - mean) / sqrt(var + eps) + beta, for image samples (C, H, W)
/// (statistics over N, H, W) or feature vectors (F) (statistics over N). Training mode uses the batch statistics and
/// moves the running mean and (unbiased) variance by <see cref="Momentum"/>; evaluation mode uses the running statistics.
/// The running statistics are non-trainable state, saved in checkpoints.
/// </summary>
public sealed partial class BatchNorm2D : Layer
{
    private Parameter? _gamma, _beta;
    private StateTensor? _runningMean, _runningVar;
    private Tensor? _input;
    private bool _frozenTraining;

    /// <summary>Creates the layer.</summary>
    /// <param name="momentum">Weight of the new batch in the running statistics (PyTorch's convention, default 0.1).</param>
    /// <param name="epsilon">Added to the variance for stability.</param>
    /// <param name="name">Layer name.</param>
    public BatchNorm2D(float momentum = 0.1f, float epsilon = 1e-5f, string? name = null) : base(name)
    {
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ConvNetArgumentException($"BatchNorm2D momentum must be in [0, 1], got {momentum}.", nameof(momentum));
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"BatchNorm2D epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        Momentum = momentum;
        Epsilon = epsilon;
    }

    /// <inheritdoc/>
    public override string TypeName => "BatchNorm2D";

    /// <summary>Running-statistics momentum.</summary>
    public float Momentum { get; }

    /// <summary>Variance epsilon.</summary>
    public float Epsilon { get; }

    /// <summary>Number of normalized channels.</summary>
    public int Channels => InputShape[0];

    /// <summary>Scale (C).</summary>
    public Parameter Gamma => _gamma ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>Shift (C).</summary>
    public Parameter Beta => _beta ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>Running mean (C).</summary>
    public Tensor RunningMean => _runningMean!.Value;

    /// <summary>Running variance (C).</summary>
    public Tensor RunningVariance => _runningVar!.Value;


    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 1 && inputShape.Rank != 3)
            throw new ShapeMismatchException($"BatchNorm2D '{Name}' expects samples (C, H, W) or (F), got {inputShape}.");
        return inputShape;
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        var c = TensorShape.Vector(InputShape[0]);
        _gamma = factory.Create("gamma", c, Initializer.Ones, 1, 1);
        _beta = factory.Create("beta", c, Initializer.Zeros, 1, 1);
        _runningMean = factory.CreateState("running_mean", c, 0f);
        _runningVar = factory.CreateState("running_var", c, 1f);
    }

    /// <inheritdoc/>
    /// <remarks>A frozen layer (<see cref="Layer.Trainable"/> false) normalizes with its running statistics in training too, and leaves them unchanged.</remarks>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var y = Buffer("y", n);
        _frozenTraining = training && !Trainable;
        if (training && Trainable && Sync is not null)
        {
            SynchronizedForward(input, y);
        }
        else if (training && Trainable)
        {
            var c = TensorShape.Vector(Channels);
            Backend.BatchNorm2dForwardTraining(input, Gamma.Value, Beta.Value, y, Buffer("save_mean", c), Buffer("save_inv_std", c),
                RunningMean, RunningVariance, Momentum, Epsilon);
        }
        else
        {
            Backend.BatchNorm2dForwardInference(input, Gamma.Value, Beta.Value, RunningMean, RunningVariance, Epsilon, y);
        }
        if (training) _input = input;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward needs a training-mode Forward first.");
        var c = TensorShape.Vector(Channels);
        if (_frozenTraining)
        {
            // Frozen: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta is a per-channel affine map, so
            // dx = dy * gamma / sqrt(running_var + eps). The scale is that same map applied to x = 1 with mean 0, beta 0.
            if (!RequiresInputGradient) return null;
            var ones = Buffer("ones", Shapes.Batch(Shapes.Features(Channels), 1));
            var zeros = Buffer("zeros", c);
            var scale = Buffer("frozen_scale", ones.Shape);
            Backend.Fill(ones, 1f);
            Backend.Fill(zeros, 0f);
            Backend.BatchNorm2dForwardInference(ones, Gamma.Value, zeros, zeros, RunningVariance, Epsilon, scale);
            var dxFrozen = InputGradientBuffer(x.Shape);
            using var scaleVector = scale.Reshape(c);
            Backend.ChannelAffine(gradOutput, scaleVector, null, dxFrozen);
            return dxFrozen;
        }
        if (Sync is not null) return SynchronizedBackward(gradOutput);
        var dx = InputGradientBuffer(x.Shape);
        Backend.BatchNorm2dBackward(x, gradOutput, Gamma.Value, Buffer("save_mean", c), Buffer("save_inv_std", c), dx,
            Gamma.Gradient, Beta.Gradient, accumulate: false);
        return RequiresInputGradient ? dx : null;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
    }

    internal static BatchNorm2D FromConfig(JsonObject c) => new(c.GetFloat("momentum"), c.GetFloat("epsilon"), c.GetOptionalString("name"));
}
