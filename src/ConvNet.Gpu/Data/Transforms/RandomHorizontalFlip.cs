using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Mirrors the image (C, H, W) left to right with probability <see cref="Probability"/> (torchvision's
/// <c>RandomHorizontalFlip(p)</c>): output[c, y, x] = input[c, y, W - 1 - x]. A spatial target is mirrored with it.
/// </summary>
public sealed class RandomHorizontalFlip : SampleTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="probability">Chance of a flip, in [0, 1] (default 0.5).</param>
    /// <exception cref="ConvNetArgumentException">The probability is outside [0, 1].</exception>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ConvNetArgumentException($"RandomHorizontalFlip probability must be in [0, 1], got {probability}.", nameof(probability));
        Probability = probability;
    }

    /// <summary>Chance of a flip.</summary>
    public double Probability { get; }

    /// <inheritdoc/>
    public override string Name => $"horizontal_flip(p {Probability})";

    /// <inheritdoc/>
    public override bool IsGeometric => true;

    /// <inheritdoc/>
    public override TensorShape OutputShape(TensorShape input)
    {
        RequireImage(input);
        return input;
    }

    /// <inheritdoc/>
    public override void Apply(TransformSample sample, HostRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        // One draw whatever the outcome, so the decision is a pure function of the generator.
        if (!(random.NextDouble() < Probability)) return;
        MirrorRows(sample.Input, sample.Shape[2]);
        if (sample.TargetShape is { } t) MirrorRows(sample.Target, t[2]);
    }

    private static void MirrorRows(Span<float> values, int width)
    {
        for (int start = 0; start < values.Length; start += width) values.Slice(start, width).Reverse();
    }
}
