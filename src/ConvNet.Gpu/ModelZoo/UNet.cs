using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.ModelZoo;

/// <summary>
/// U-Net (Ronneberger et al. 2015), small: an encoder that halves the image <c>depth</c> times, a decoder that doubles it
/// back with 2x2 stride-2 transposed convolutions, and at every scale a skip connection that concatenates the encoder's
/// maps with the upsampled ones (<see cref="Concat"/> on the channel axis). The output is one logit map per class, the
/// size of the input.
/// </summary>
public static class UNet
{
    /// <summary>
    /// Builds the network: at encoder level i (0-based) two conv3x3-BN-ReLU with <paramref name="baseFilters"/> x 2^i maps
    /// then 2x2 max-pooling; a bottleneck of two conv3x3-BN-ReLU with baseFilters x 2^depth maps; at decoder level i a
    /// ConvTranspose2D(baseFilters x 2^i, 2x2, stride 2), concatenation with encoder level i's output, and two
    /// conv3x3-BN-ReLU; finally a 1x1 convolution to <paramref name="classes"/> logit maps. Use one class with
    /// <c>BinaryCrossEntropyWithLogitsLoss</c> for a foreground mask.
    /// </summary>
    /// <param name="backend">Where the model lives.</param>
    /// <param name="inputShape">Per-sample image shape (C, H, W); H and W must be divisible by 2^<paramref name="depth"/>.</param>
    /// <param name="classes">Output maps (1 for a binary mask).</param>
    /// <param name="seed">Initialization seed.</param>
    /// <param name="baseFilters">Maps at the first level (64 in the paper; 16 by default here).</param>
    /// <param name="depth">Number of downsamplings (4 in the paper; 2 by default here).</param>
    /// <exception cref="InvalidGeometryException">H or W is not divisible by 2^depth.</exception>
    /// <exception cref="ConvNetArgumentException">The input is not an image, or classes, baseFilters or depth is out of range.</exception>
    public static Model Create(IBackend backend, TensorShape inputShape, int classes = 1, ulong seed = 42, int baseFilters = 16, int depth = 2)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (classes < 1) throw new ConvNetArgumentException($"U-Net needs at least one output map, got classes={classes}.", nameof(classes));
        if (baseFilters < 1) throw new ConvNetArgumentException($"U-Net baseFilters must be at least 1, got {baseFilters}.", nameof(baseFilters));
        if (depth < 1 || depth > 6) throw new ConvNetArgumentException($"U-Net depth must be 1 to 6, got {depth}.", nameof(depth));
        if (inputShape.Rank != 3) throw new ShapeMismatchException($"U-Net takes images (C, H, W), got {inputShape}.");
        int factor = 1 << depth;
        if (inputShape[1] % factor != 0 || inputShape[2] % factor != 0)
            throw new InvalidGeometryException(
                $"U-Net with depth {depth} halves the image {depth} times, so H and W must be divisible by {factor}; got {inputShape[1]}x{inputShape[2]}.");

        var image = Model.Input(inputShape, "image");
        var skips = new List<SymbolicTensor>();
        var h = image;
        for (int level = 0; level < depth; level++)
        {
            h = DoubleConv(h, baseFilters << level, $"enc{level + 1}");
            skips.Add(h);
            h = new MaxPool2D(2, name: $"enc{level + 1}_pool").Call(h);
        }
        h = DoubleConv(h, baseFilters << depth, "bottleneck");
        for (int level = depth - 1; level >= 0; level--)
        {
            int maps = baseFilters << level;
            var up = new ConvTranspose2D(maps, kernelSize: 2, stride: 2, name: $"dec{level + 1}_up").Call(h);
            h = DoubleConv(new Concat($"dec{level + 1}_cat").Call(skips[level], up), maps, $"dec{level + 1}");
        }
        var logits = new Conv2D(classes, 1, name: "head").Call(h);
        return new Model(backend, image, logits, seed, "unet");
    }

    private static SymbolicTensor DoubleConv(SymbolicTensor x, int maps, string name)
    {
        for (int i = 1; i <= 2; i++)
        {
            x = new Conv2D(maps, 3, padding: 1, useBias: false, name: $"{name}_conv{i}").Call(x);
            x = new ReLU($"{name}_relu{i}").Call(new BatchNorm2D(name: $"{name}_bn{i}").Call(x));
        }
        return x;
    }
}
