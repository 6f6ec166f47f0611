using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Batch normalization per channel: y = gamma * (x - mean) / sqrt(var + eps) + beta, for image samples (C, H, W)
/// (statistics over N, H, W) or feature vectors (F) (statistics over N). Training mode uses the batch statistics and
/// moves the running mean and (unbiased) variance by <see cref="Momentum"/>; evaluation mode uses the running statistics.
/// The running statistics are non-trainable state, saved in checkpoints.
/// </summary>
public sealed class BatchNorm2D : Layer
{
    private Parameter? _gamma, _beta;
    private StateTensor? _runningMean, _runningVar;
    private Tensor? _input;
    private double[] _syncInvStd = [];
    private Tensor? _syncCentered; // x - mean of the last synchronized training forward, for its backward

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

    /// <summary>When set, training-mode statistics are synchronized across data-parallel ranks (see <see cref="BatchNormSync"/>).</summary>
    internal BatchNormSync? Sync { get; set; }

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
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var y = Buffer("y", n);
        if (training && Sync is not null)
        {
            SynchronizedForward(input, y);
            _input = input;
        }
        else if (training)
        {
            var c = TensorShape.Vector(Channels);
            Backend.BatchNorm2dForwardTraining(input, Gamma.Value, Beta.Value, y, Buffer("save_mean", c), Buffer("save_inv_std", c),
                RunningMean, RunningVariance, Momentum, Epsilon);
            _input = input;
        }
        else
        {
            Backend.BatchNorm2dForwardInference(input, Gamma.Value, Beta.Value, RunningMean, RunningVariance, Epsilon, y);
        }
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward needs a training-mode Forward first.");
        if (Sync is not null) return SynchronizedBackward(gradOutput);
        var c = TensorShape.Vector(Channels);
        var dx = Buffer("dx", x.Shape);
        Backend.BatchNorm2dBackward(x, gradOutput, Gamma.Value, Buffer("save_mean", c), Buffer("save_inv_std", c), dx,
            Gamma.Gradient, Beta.Gradient, accumulate: false);
        return RequiresInputGradient ? dx : null;
    }

    // Synchronized forward: y = x * (gamma * invstd) + (beta - mean * gamma * invstd) per channel, with the mean and
    // biased variance of the global batch (two all-reduces of C + 1 and C floats); running statistics as unsynchronized.
    private void SynchronizedForward(Tensor x, Tensor y)
    {
        int channels = Channels;
        var sums = new float[channels + 1];
        BatchNormSync.ChannelSums(this, x, "sync_x", sums);
        long perChannel = x.ElementCount / channels;
        sums[channels] = perChannel;
        Sync!.AllReduce(sums, Name, "channel sums");
        double count = sums[channels];
        var mean = new double[channels];
        var negativeMean = new float[channels];
        var ones = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            mean[c] = sums[c] / count;
            negativeMean[c] = (float)-mean[c];
            ones[c] = 1f;
        }
        var vc = TensorShape.Vector(channels);
        var scale = Buffer("sync_scale", vc);
        var shift = Buffer("sync_shift", vc);
        scale.Upload(ones);
        shift.Upload(negativeMean);
        var centered = Buffer("sync_centered", x.Shape);
        Backend.ChannelAffine(x, scale, shift, centered);
        var squares = Buffer("sync_squares", x.Shape);
        Backend.Mul(centered, centered, squares);
        var deviations = new float[channels];
        BatchNormSync.ChannelSums(this, squares, "sync_sq", deviations);
        Sync.AllReduce(deviations, Name, "squared deviations");

        var gamma = Gamma.Value.ToArray();
        var beta = Beta.Value.ToArray();
        var runningMean = RunningMean.ToArray();
        var runningVar = RunningVariance.ToArray();
        var invStd = new double[channels];
        var yScale = new float[channels];
        var yShift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double variance = deviations[c] / count;
            double unbiased = count > 1 ? deviations[c] / (count - 1) : variance;
            invStd[c] = 1.0 / Math.Sqrt(variance + Epsilon);
            yScale[c] = (float)(gamma[c] * invStd[c]);
            yShift[c] = (float)(beta[c] - mean[c] * gamma[c] * invStd[c]);
            runningMean[c] = (float)(Momentum * mean[c] + (1.0 - Momentum) * runningMean[c]);
            runningVar[c] = (float)(Momentum * unbiased + (1.0 - Momentum) * runningVar[c]);
        }
        RunningMean.Upload(runningMean);
        RunningVariance.Upload(runningVar);
        scale.Upload(yScale);
        shift.Upload(yShift);
        Backend.ChannelAffine(x, scale, shift, y);
        _syncInvStd = invStd;
        _syncCentered = centered;
    }

    // Synchronized backward, with xmu = x - mean and M the global count per channel:
    //   dbeta = sum(dy), dgamma = invstd * sum(dy * xmu)  (this rank's own sums; the gradient all-reduce adds them)
    //   dx = gamma * invstd * (dy - Sum(dy) / M - xmu * invstd^2 * Sum(dy * xmu) / M)  (Sum: over all ranks)
    private Tensor? SynchronizedBackward(Tensor dy)
    {
        int channels = Channels;
        var centered = _syncCentered!;
        var sums = new float[2 * channels + 1];
        var local = new float[channels];
        BatchNormSync.ChannelSums(this, dy, "sync_dy", local);
        local.CopyTo(sums, 0);
        var product = Buffer("sync_product", dy.Shape);
        Backend.Mul(dy, centered, product);
        var dot = new float[channels];
        BatchNormSync.ChannelSums(this, product, "sync_dot", dot);
        dot.CopyTo(sums, channels);
        sums[2 * channels] = dy.ElementCount / channels;
        var gradGamma = new float[channels];
        for (int c = 0; c < channels; c++) gradGamma[c] = (float)(dot[c] * _syncInvStd[c]);
        Gamma.Gradient.Upload(gradGamma);
        Beta.Gradient.Upload(local);
        Sync!.AllReduce(sums, Name, "gradient sums");
        if (!RequiresInputGradient) return null;

        double count = sums[2 * channels];
        var gamma = Gamma.Value.ToArray();
        var kDy = new float[channels];
        var k0 = new float[channels];
        var kX = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double gi = gamma[c] * _syncInvStd[c];
            kDy[c] = (float)gi;
            k0[c] = (float)(-gi * sums[c] / count);
            kX[c] = (float)(-gi * _syncInvStd[c] * _syncInvStd[c] * sums[channels + c] / count);
        }
        var vc = TensorShape.Vector(channels);
        var scale = Buffer("sync_scale", vc);
        var shift = Buffer("sync_shift", vc);
        var dx = Buffer("dx", dy.Shape);
        scale.Upload(kDy);
        shift.Upload(k0);
        Backend.ChannelAffine(dy, scale, shift, dx);
        scale.Upload(kX);
        Backend.ChannelAffine(centered, scale, null, product);
        Backend.Add(dx, product, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
    }

    internal static BatchNorm2D FromConfig(JsonObject c) => new(c.GetFloat("momentum"), c.GetFloat("epsilon"), c.GetOptionalString("name"));
}
