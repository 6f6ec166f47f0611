using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Per-channel standardization y[c, ...] = (x[c, ...] − Mean[c]) / Std[c], where the channel is a sample's first
/// dimension (C of (C, H, W); every feature of (F)). It is both the statistics (<see cref="FromDataset"/>) and a
/// <see cref="SampleTransform"/>; to keep the normalization with the model, so that prediction applies it too, give the
/// same statistics to the <c>Normalize</c> layer instead (<c>Normalize.FromDataset</c>).
/// </summary>
public sealed class ChannelNormalization : SampleTransform
{
    private readonly float[] _mean, _std;

    /// <summary>Creates the normalization from one mean and one standard deviation per channel.</summary>
    /// <exception cref="ConvNetArgumentException">The lists are empty or differ in length, a mean is not finite, or a std is not finite and positive.</exception>
    public ChannelNormalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ConvNetArgumentException($"ChannelNormalization needs one mean and one std per channel, got {mean.Count} means and {std.Count} stds.");
        for (int c = 0; c < mean.Count; c++)
        {
            if (!float.IsFinite(mean[c]))
                throw new ConvNetArgumentException($"ChannelNormalization: the mean of channel {c} must be finite, got {mean[c]}.", nameof(mean));
            if (!float.IsFinite(std[c]) || !(std[c] > 0))
                throw new ConvNetArgumentException($"ChannelNormalization: the std of channel {c} must be finite and positive, got {std[c]}.", nameof(std));
        }
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    /// <summary>The value subtracted from each channel.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The divisor of each channel.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>Number of channels.</summary>
    public int Channels => _mean.Length;

    /// <inheritdoc/>
    public override string Name => $"normalize(mean [{Format(_mean)}], std [{Format(_std)}])";

    /// <summary>
    /// The mean and population standard deviation of every channel of <paramref name="data"/>'s inputs (over the samples
    /// and the other dimensions), accumulated in float64 in two passes (no cancellation), in a fixed order.
    /// For Fashion-MNIST's training set scaled to [0, 1]: mean 0.2860, std 0.3530.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The dataset is empty, or a channel is constant (std 0).</exception>
    public static ChannelNormalization FromDataset(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
            throw new ConvNetArgumentException($"Cannot compute normalization statistics of the empty dataset '{data.Source}'.", nameof(data));
        int channels = data.SampleShape[0];
        int plane = data.SampleSize / channels;
        ReadOnlySpan<float> x = data.Images.Span;
        var sums = new double[channels];
        for (int n = 0; n < data.Count; n++)
            for (int c = 0; c < channels; c++)
                foreach (float v in x.Slice((n * channels + c) * plane, plane)) sums[c] += v;
        long perChannel = (long)data.Count * plane;
        var means = sums.Select(s => s / perChannel).ToArray();
        var squares = new double[channels];
        for (int n = 0; n < data.Count; n++)
            for (int c = 0; c < channels; c++)
                foreach (float v in x.Slice((n * channels + c) * plane, plane))
                {
                    double d = v - means[c];
                    squares[c] += d * d;
                }
        var mean = new float[channels];
        var std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = Math.Sqrt(squares[c] / perChannel);
            if (!(s > 0))
                throw new ConvNetArgumentException(
                    $"Dataset '{data.Source}': channel {c} has a standard deviation of {s} (every value equal); it cannot be normalized.", nameof(data));
            mean[c] = (float)means[c];
            std[c] = (float)s;
        }
        return new ChannelNormalization(mean, std);
    }

    /// <inheritdoc/>
    public override TensorShape OutputShape(TensorShape input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input[0] != Channels)
            throw new ShapeMismatchException($"Transform {Name} has {Channels} channel(s) but the samples are {input} ({input[0]} channels).");
        return input;
    }

    /// <summary>Normalizes one sample of <paramref name="shape"/> in place.</summary>
    /// <exception cref="ShapeMismatchException">The channel count or the length disagrees.</exception>
    public void Apply(Span<float> sample, TensorShape shape)
    {
        OutputShape(shape);
        if (sample.Length != shape.ElementCount)
            throw new ShapeMismatchException($"Transform {Name}: {sample.Length} values do not make a sample of {shape}.");
        int plane = sample.Length / Channels;
        for (int c = 0; c < Channels; c++)
        {
            var run = sample.Slice(c * plane, plane);
            float m = _mean[c], s = _std[c];
            for (int i = 0; i < run.Length; i++) run[i] = (run[i] - m) / s;
        }
    }

    /// <inheritdoc/>
    public override void Apply(TransformSample sample, HostRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        Apply(sample.Input, sample.Shape);
    }

    private static string Format(float[] values) =>
        string.Join(", ", values.Take(4).Select(v => v.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture))) + (values.Length > 4 ? ", ..." : "");
}
