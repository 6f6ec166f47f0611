using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Random crop with padding (torchvision's <c>RandomCrop(size, padding)</c>): the image (C, H, W) is padded by
/// <see cref="Padding"/> on every side with <see cref="Fill"/>, then a (C, <see cref="Height"/>, <see cref="Width"/>)
/// window is taken at a uniformly random offset, top in [0, H + 2p - height] and left in [0, W + 2p - width]. A spatial
/// target is cropped at the same offset (its padding is 0). The usual CIFAR augmentation is <c>new RandomCrop(32, padding: 4)</c>.
/// </summary>
public sealed class RandomCrop : SampleTransform
{
    /// <summary>Creates a square crop.</summary>
    /// <param name="size">Output height and width, at least 1.</param>
    /// <param name="padding">Pixels added on each side before cropping, at least 0.</param>
    /// <param name="fill">Value of the padded pixels (in the units of the input, e.g. 0 = black for [0, 1] pixels).</param>
    /// <exception cref="ConvNetArgumentException">The size is below 1, the padding negative, or the fill not finite.</exception>
    public RandomCrop(int size, int padding = 0, float fill = 0f) : this(size, size, padding, fill)
    {
    }

    /// <summary>Creates a crop of <paramref name="height"/> × <paramref name="width"/>; see the square overload.</summary>
    public RandomCrop(int height, int width, int padding, float fill = 0f)
    {
        if (height < 1 || width < 1)
            throw new ConvNetArgumentException($"RandomCrop needs a size of at least 1x1, got {height}x{width}.");
        if (padding < 0) throw new ConvNetArgumentException($"RandomCrop padding must be >= 0, got {padding}.", nameof(padding));
        if (!float.IsFinite(fill)) throw new ConvNetArgumentException($"RandomCrop fill must be finite, got {fill}.", nameof(fill));
        Height = height;
        Width = width;
        Padding = padding;
        Fill = fill;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Padding on each side.</summary>
    public int Padding { get; }

    /// <summary>Value of the padded input pixels.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public override string Name => $"random_crop({Height}x{Width}, padding {Padding})";

    /// <inheritdoc/>
    public override bool IsGeometric => true;

    /// <inheritdoc/>
    public override TensorShape OutputShape(TensorShape input)
    {
        RequireImage(input);
        if (input[1] + 2 * Padding < Height || input[2] + 2 * Padding < Width)
            throw new ShapeMismatchException(
                $"Transform {Name}: the padded image is {input[1] + 2 * Padding}x{input[2] + 2 * Padding} ({input} with padding {Padding}), smaller than the crop.");
        return new TensorShape([input[0], Height, Width], ["C", "H", "W"]);
    }

    /// <inheritdoc/>
    public override void Apply(TransformSample sample, HostRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        var shape = sample.Shape;
        var output = OutputShape(shape);
        // Offsets in padded coordinates; the input pixel under output (y, x) is (y + top - p, x + left - p).
        int top = random.NextInt(shape[1] + 2 * Padding - Height + 1);
        int left = random.NextInt(shape[2] + 2 * Padding - Width + 1);
        Crop(sample.Input, shape, sample.NewInput(output), top - Padding, left - Padding, Fill);
        if (sample.TargetShape is { } t)
        {
            var targetOutput = new TensorShape([t[0], Height, Width], ["C", "H", "W"]);
            Crop(sample.Target, t, sample.NewTarget(targetOutput), top - Padding, left - Padding, 0f);
        }
        sample.Commit();
    }

    // destination[c, y, x] = source[c, y + dy, x + dx], or fill where that is outside the source.
    private void Crop(ReadOnlySpan<float> source, TensorShape shape, Span<float> destination, int dy, int dx, float fill)
    {
        int channels = shape[0], h = shape[1], w = shape[2];
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < Height; y++)
            {
                var row = destination.Slice((c * Height + y) * Width, Width);
                int sy = y + dy;
                if (sy < 0 || sy >= h)
                {
                    row.Fill(fill);
                    continue;
                }
                // Columns x with 0 <= x + dx < w come from the source row; the rest are padding.
                int x0 = Math.Clamp(-dx, 0, Width), x1 = Math.Clamp(w - dx, 0, Width);
                row[..x0].Fill(fill);
                if (x1 > x0) source.Slice((c * h + sy) * w + x0 + dx, x1 - x0).CopyTo(row[x0..x1]);
                row[Math.Max(x1, x0)..].Fill(fill);
            }
        }
    }
}
