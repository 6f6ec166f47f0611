using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Random erasing (Zhong et al. 2020, "Random Erasing Data Augmentation"; torchvision's <c>RandomErasing</c>): with
/// probability <see cref="Probability"/>, a rectangle of the image (C, H, W) covering a random share of its area in
/// [<see cref="MinArea"/>, <see cref="MaxArea"/>] with a log-uniform aspect ratio in [<see cref="MinAspect"/>,
/// <see cref="MaxAspect"/>] is set to <see cref="Value"/> in every channel (or to N(0, 1) noise with
/// <see cref="RandomValues"/>). Up to 10 draws are made to find a rectangle that fits strictly inside the image; when none
/// does, the sample is left as it is (torchvision's rule). A spatial target is not touched.
/// </summary>
public sealed class RandomErasing : SampleTransform
{
    private const int Attempts = 10;

    /// <summary>Creates the transform (torchvision's defaults).</summary>
    /// <param name="probability">Chance of erasing, in [0, 1].</param>
    /// <param name="minArea">Smallest erased share of the area, in (0, 1].</param>
    /// <param name="maxArea">Largest erased share, in [minArea, 1].</param>
    /// <param name="minAspect">Smallest height/width ratio, positive.</param>
    /// <param name="maxAspect">Largest ratio, at least minAspect.</param>
    /// <param name="value">The value written (in the input's units; 0 after normalization is the mean).</param>
    /// <param name="randomValues">Write standard-normal noise instead of <paramref name="value"/>.</param>
    /// <exception cref="ConvNetArgumentException">A setting is outside its range.</exception>
    public RandomErasing(double probability = 0.5, double minArea = 0.02, double maxArea = 0.33, double minAspect = 0.3,
        double maxAspect = 3.3, float value = 0f, bool randomValues = false)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ConvNetArgumentException($"RandomErasing probability must be in [0, 1], got {probability}.", nameof(probability));
        if (!(minArea > 0 && minArea <= maxArea && maxArea <= 1))
            throw new ConvNetArgumentException($"RandomErasing needs 0 < minArea <= maxArea <= 1, got {minArea} and {maxArea}.", nameof(minArea));
        if (!(minAspect > 0 && minAspect <= maxAspect && double.IsFinite(maxAspect)))
            throw new ConvNetArgumentException($"RandomErasing needs 0 < minAspect <= maxAspect, got {minAspect} and {maxAspect}.", nameof(minAspect));
        if (!float.IsFinite(value)) throw new ConvNetArgumentException($"RandomErasing value must be finite, got {value}.", nameof(value));
        Probability = probability;
        MinArea = minArea;
        MaxArea = maxArea;
        MinAspect = minAspect;
        MaxAspect = maxAspect;
        Value = value;
        RandomValues = randomValues;
    }

    /// <summary>Chance of erasing.</summary>
    public double Probability { get; }

    /// <summary>Smallest erased share of the area.</summary>
    public double MinArea { get; }

    /// <summary>Largest erased share of the area.</summary>
    public double MaxArea { get; }

    /// <summary>Smallest height/width ratio.</summary>
    public double MinAspect { get; }

    /// <summary>Largest height/width ratio.</summary>
    public double MaxAspect { get; }

    /// <summary>The value written into the rectangle.</summary>
    public float Value { get; }

    /// <summary>Whether standard-normal noise is written instead of <see cref="Value"/>.</summary>
    public bool RandomValues { get; }

    /// <inheritdoc/>
    public override string Name => $"random_erasing(p {Probability}, area {MinArea}-{MaxArea})";

    /// <inheritdoc/>
    public override TensorShape OutputShape(TensorShape input)
    {
        RequireImage(input);
        return input;
    }

    /// <summary>
    /// The rectangle (top, left, height, width) this transform erases for the draws of <paramref name="random"/> on an
    /// image of <paramref name="height"/> × <paramref name="width"/>, or null when it leaves the sample alone.
    /// </summary>
    public (int Top, int Left, int Height, int Width)? ChooseRectangle(int height, int width, HostRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(random.NextDouble() < Probability)) return null;
        double area = (double)height * width;
        double logMin = Math.Log(MinAspect), logMax = Math.Log(MaxAspect);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double target = area * (MinArea + (MaxArea - MinArea) * random.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * random.NextDouble());
            int h = (int)Math.Round(Math.Sqrt(target * aspect));
            int w = (int)Math.Round(Math.Sqrt(target / aspect));
            if (h < 1 || w < 1 || h >= height || w >= width) continue;
            return (random.NextInt(height - h + 1), random.NextInt(width - w + 1), h, w);
        }
        return null;
    }

    /// <inheritdoc/>
    public override void Apply(TransformSample sample, HostRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var shape = sample.Shape;
        if (ChooseRectangle(shape[1], shape[2], random) is not { } rectangle) return;
        var (top, left, h, w) = rectangle;
        var x = sample.Input;
        for (int c = 0; c < shape[0]; c++)
            for (int y = top; y < top + h; y++)
            {
                var run = x.Slice((c * shape[1] + y) * shape[2] + left, w);
                if (!RandomValues) run.Fill(Value);
                else for (int i = 0; i < run.Length; i++) run[i] = (float)random.NextGaussian();
            }
    }
}
