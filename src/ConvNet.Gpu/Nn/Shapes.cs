namespace ConvNet.Gpu.Nn;

/// <summary>
/// Per-sample shapes: a layer sees (C, H, W) for images or (F) for feature vectors; batches add a leading N.
/// </summary>
public static class Shapes
{
    /// <summary>An image sample shape (C, H, W).</summary>
    public static TensorShape Image(int channels, int height, int width) => new([channels, height, width], ["C", "H", "W"]);

    /// <summary>A feature-vector sample shape (F).</summary>
    public static TensorShape Features(int count) => new([count], ["F"]);

    /// <summary>The batch shape (N, sample...) for <paramref name="batch"/> samples.</summary>
    public static TensorShape Batch(TensorShape sample, int batch)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (sample.Rank >= TensorShape.MaxRank)
            throw new ShapeMismatchException($"A sample shape must have rank at most {TensorShape.MaxRank - 1}, got {sample}.");
        var dims = new int[sample.Rank + 1];
        var names = new string[sample.Rank + 1];
        dims[0] = batch; names[0] = "N";
        for (int i = 0; i < sample.Rank; i++) { dims[i + 1] = sample[i]; names[i + 1] = sample.NameOf(i); }
        return new TensorShape(dims, names);
    }

    /// <summary>The sample shape of a batch shape (drops dimension 0).</summary>
    public static TensorShape Sample(TensorShape batch)
    {
        if (batch.Rank < 2)
            throw new ShapeMismatchException($"A batch needs a leading N dimension and at least one more, got {batch}.");
        var dims = new int[batch.Rank - 1];
        var names = new string[batch.Rank - 1];
        for (int i = 1; i < batch.Rank; i++) { dims[i - 1] = batch[i]; names[i - 1] = batch.NameOf(i); }
        return new TensorShape(dims, names);
    }

    /// <summary>Formats a sample shape as Keras does a batch shape, e.g. "(None, 6, 28, 28)".</summary>
    public static string Format(TensorShape sample) =>
        "(None, " + string.Join(", ", sample.Dimensions) + ")";

    /// <summary>Throws unless <paramref name="sample"/> is an image (C, H, W).</summary>
    internal static void RequireImage(string layer, TensorShape sample)
    {
        if (sample.Rank != 3)
            throw new ShapeMismatchException($"{layer} expects image samples (C, H, W), got sample shape {sample}.");
    }
}
