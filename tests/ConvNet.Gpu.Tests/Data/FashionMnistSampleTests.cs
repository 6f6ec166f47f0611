using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>The small Fashion-MNIST sample embedded in the CLI (src/ConvNet.Gpu.Cli/Resources/fashion-mnist-sample).</summary>
public sealed class FashionMnistSampleTests
{
    private static string SampleDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ConvNet.Gpu.sln")))
                return Path.Combine(dir.FullName, "src", "ConvNet.Gpu.Cli", "Resources", "fashion-mnist-sample");
        }
        Assert.Skip($"The repository root (ConvNet.Gpu.sln) is not above {AppContext.BaseDirectory}, so the sample cannot be located.");
        return "";
    }

    [Fact]
    public void SampleIsSmallBalancedAndLoadable()
    {
        string dir = SampleDirectory();

        var (train, test) = FashionMnist.Load(dir);

        Assert.Equal(4000, train.Count);
        Assert.Equal(1000, test.Count);
        Assert.Equal([1, 28, 28], train.SampleShape.Dimensions);
        Assert.All(train.CountPerClass(), c => Assert.Equal(400, c));
        Assert.All(test.CountPerClass(), c => Assert.Equal(100, c));
        long bytes = Directory.GetFiles(dir, "*.gz").Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1, 3 * 1024 * 1024);
    }

    [Fact]
    public void SampleImagesAreExactCopiesOfTheFirstImagesOfEachClass()
    {
        string dir = SampleDirectory();
        if (!FashionMnist.TryFind(null, out var full, out var reason))
            Assert.Skip(reason);
        var (train, test) = FashionMnist.Load(dir);
        var (fullTrain, fullTest) = FashionMnist.Load(full!);

        AssertIsFirstPerClass(train, fullTrain, 400);
        AssertIsFirstPerClass(test, fullTest, 100);
    }

    // Independent re-derivation of the selection: walk the full set in order, keep the first perClass of each label.
    private static void AssertIsFirstPerClass(Dataset sample, Dataset full, int perClass)
    {
        var taken = new int[full.ClassCount];
        int next = 0;
        for (int i = 0; i < full.Count && next < sample.Count; i++)
        {
            int label = full.Labels.Span[i];
            if (taken[label]++ >= perClass) continue;
            Assert.Equal(label, sample.Labels.Span[next]);
            Assert.True(full.GetImage(i).Span.SequenceEqual(sample.GetImage(next).Span), $"sample {next} differs from source image {i}");
            next++;
        }
        Assert.Equal(sample.Count, next);
    }
}
