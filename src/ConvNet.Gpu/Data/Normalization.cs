using System.Numerics;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Standardizes pixels as (x − <see cref="Mean"/>) / <see cref="Std"/>, one mean and standard deviation for all pixels
/// (Fashion-MNIST has a single channel). Apply the statistics of the training set to every split.
/// </summary>
public sealed class Normalization : IEquatable<Normalization>
{
    /// <summary>Mean 0, std 1: leaves every value exactly as it is ((x - 0) / 1 == x in float32).</summary>
    public static Normalization Identity { get; } = new(0f, 1f);

    /// <summary>Creates a normalization with the given statistics.</summary>
    /// <param name="mean">The value subtracted; must be finite.</param>
    /// <param name="std">The divisor; must be finite and positive.</param>
    /// <exception cref="ConvNetArgumentException">The mean is not finite, or the std is not finite and positive.</exception>
    public Normalization(float mean, float std)
    {
        if (!float.IsFinite(mean))
            throw new ConvNetArgumentException($"Normalization mean must be finite, got {mean}.", nameof(mean));
        if (!float.IsFinite(std) || std <= 0)
            throw new ConvNetArgumentException($"Normalization std must be finite and positive, got {std}.", nameof(std));
        Mean = mean;
        Std = std;
    }

    /// <summary>The value subtracted from every pixel.</summary>
    public float Mean { get; }

    /// <summary>The value every centred pixel is divided by.</summary>
    public float Std { get; }

    /// <summary>
    /// The mean and population standard deviation of every pixel of <paramref name="data"/>, accumulated in float64
    /// (two passes, so the variance does not suffer cancellation). For the Fashion-MNIST training set scaled to [0, 1]
    /// this gives about 0.2860 and 0.3530.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The dataset is empty or all its pixels are equal (std 0).</exception>
    public static Normalization FromDataset(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ReadOnlySpan<float> x = data.Images.Span;
        if (x.Length == 0)
            throw new ConvNetArgumentException($"Cannot compute normalization statistics of the empty dataset '{data.Source}'.", nameof(data));

        double sum = 0;
        foreach (float v in x) sum += v;
        double mean = sum / x.Length;
        double squares = 0;
        foreach (float v in x)
        {
            double d = v - mean;
            squares += d * d;
        }
        double std = Math.Sqrt(squares / x.Length);
        if (!(std > 0))
            throw new ConvNetArgumentException(
                $"Dataset '{data.Source}' has a pixel standard deviation of {std}; it cannot be normalized.", nameof(data));
        return new Normalization((float)mean, (float)std);
    }

    /// <summary>
    /// Replaces every value x of <paramref name="values"/> with (x − Mean) / Std, in place. The vectorized loop rounds
    /// exactly like the scalar expression, so results do not depend on the machine's vector width.
    /// </summary>
    public void Apply(Span<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var mean = new Vector<float>(Mean);
            var std = new Vector<float>(Std);
            Span<Vector<float>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(values);
            for (int v = 0; v < vectors.Length; v++) vectors[v] = (vectors[v] - mean) / std;
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++) values[i] = (values[i] - Mean) / Std;
    }

    /// <summary>True when both statistics are bit-identical, i.e. the two normalizations give the same values.</summary>
    public bool Equals(Normalization? other) =>
        other is not null && BitConverter.SingleToInt32Bits(Mean) == BitConverter.SingleToInt32Bits(other.Mean)
        && BitConverter.SingleToInt32Bits(Std) == BitConverter.SingleToInt32Bits(other.Std);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Normalization);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Mean, Std);

    /// <summary>Formats as "mean 0.2860, std 0.3530".</summary>
    public override string ToString() => $"mean {Mean:0.0000}, std {Std:0.0000}";
}
