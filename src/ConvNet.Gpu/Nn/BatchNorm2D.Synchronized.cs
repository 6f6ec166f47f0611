namespace ConvNet.Gpu.Nn;

// Synchronized batch normalization (data-parallel training with SynchronizeBatchNorm): the statistics of the whole
// global batch, from per-channel sums all-reduced across ranks (see BatchNormSync). Built from backend ops
// (ReduceSum, ChannelAffine, Mul, Add) with per-channel host arithmetic in float64, so it runs on every backend.
public sealed partial class BatchNorm2D
{
    private double[] _syncInvStd = [];
    private Tensor? _syncCentered; // x - mean of the last synchronized training forward, for its backward

    /// <summary>When set, training-mode statistics are synchronized across data-parallel ranks (see <see cref="BatchNormSync"/>).</summary>
    internal BatchNormSync? Sync { get; set; }

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
        var dx = InputGradientBuffer(dy.Shape);
        scale.Upload(kDy);
        shift.Upload(k0);
        Backend.ChannelAffine(dy, scale, shift, dx);
        scale.Upload(kX);
        Backend.ChannelAffine(centered, scale, null, product);
        Backend.Add(dx, product, dx);
        return dx;
    }
}
