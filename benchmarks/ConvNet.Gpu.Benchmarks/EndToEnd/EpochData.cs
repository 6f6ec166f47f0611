using System.Globalization;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Benchmarks.EndToEnd;

/// <summary>
/// The data one benchmark epoch runs over: the real Fashion-MNIST training set when it is found ($CONVNET_DATA or
/// /usr/share/datasets/fashion-mnist), else 60,000 random 28x28 images with random labels (same shapes, same work).
/// <c>CONVNET_BENCH_EPOCH_IMAGES</c> shortens the epoch for quick checks.
/// </summary>
public static class EpochData
{
    /// <summary>Environment variable limiting the number of images in an epoch.</summary>
    public const string ImagesVariable = "CONVNET_BENCH_EPOCH_IMAGES";

    private static readonly Lazy<Dataset> Data = new(Load);

    /// <summary>The epoch's dataset (loaded once per process).</summary>
    public static Dataset Get() => Data.Value;

    /// <summary>The image limit from <see cref="ImagesVariable"/>, or null.</summary>
    public static int? Limit =>
        int.TryParse(Environment.GetEnvironmentVariable(ImagesVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : null;

    private static Dataset Load()
    {
        Dataset data = FashionMnist.TryFind(null, out string? directory, out _)
            ? FashionMnist.LoadTrain(directory!)
            : Random(60_000);
        return Limit is int n && n < data.Count ? data.Take(n) : data;
    }

    /// <summary><paramref name="count"/> random images in [0, 1) with uniform labels 0..9 (seeded).</summary>
    public static Dataset Random(int count)
    {
        var rng = new Random(11);
        var images = new float[count * 28 * 28];
        for (int i = 0; i < images.Length; i++) images[i] = rng.NextSingle();
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = rng.Next(10);
        return new Dataset(images, labels, TensorShape.Of(1, 28, 28), FashionMnist.ClassNames, "random (Fashion-MNIST not found)");
    }
}
