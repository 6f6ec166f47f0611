using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>The real Fashion-MNIST from Debian's dataset-fashion-mnist, when it is installed.</summary>
public sealed class FashionMnistRealDataTests
{
    private static string RequireDataset()
    {
        if (!FashionMnist.TryFind(null, out var dir, out var reason))
            Assert.Skip(reason);
        return dir!;
    }

    [Fact]
    public void LoadsTheRealDataset()
    {
        string dir = RequireDataset();

        var (train, test) = FashionMnist.Load(dir);

        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal([1, 28, 28], train.SampleShape.Dimensions);
        Assert.Equal([1, 28, 28], test.SampleShape.Dimensions);
        // Fashion-MNIST is exactly balanced: 6000 training and 1000 test images per class.
        Assert.All(train.CountPerClass(), c => Assert.Equal(6000, c));
        Assert.All(test.CountPerClass(), c => Assert.Equal(1000, c));

        // Pixel-range sanity: all in [0, 1], both extremes present, mean about 0.286 (published statistics).
        float min = float.MaxValue, max = float.MinValue;
        double sum = 0;
        foreach (float v in train.Images.Span)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
        }
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);
        Assert.InRange(sum / train.Images.Length, 0.280, 0.292);
    }

    [Fact]
    public void NormalizationStatisticsMatchPublishedValues()
    {
        string dir = RequireDataset();
        var train = FashionMnist.LoadTrain(dir);

        var n = Normalization.FromDataset(train);

        // Widely published Fashion-MNIST statistics: mean 0.2860, std 0.3530.
        Assert.Equal(0.2860, n.Mean, tolerance: 5e-4);
        Assert.Equal(0.3530, n.Std, tolerance: 5e-4);
    }
}
