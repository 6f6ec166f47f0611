using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>FashionMnist.Load and TryFind on small directories the tests write.</summary>
public sealed class FashionMnistTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LoadsAllFourFilesScaledToUnitRange(bool gzip)
    {
        var written = IdxBytes.WriteDataset(_dir.Path, trainCount: 30, testCount: 12, rows: 5, cols: 4, gzip);

        var (train, test) = FashionMnist.Load(_dir.Path);

        Assert.Equal(30, train.Count);
        Assert.Equal(12, test.Count);
        Assert.Equal([1, 5, 4], train.SampleShape.Dimensions);
        Assert.Equal(["C", "H", "W"], train.SampleShape.Names);
        Assert.Equal(10, train.ClassCount);
        Assert.Equal("T-shirt/top", train.ClassNames[0]);
        Assert.Equal("Ankle boot", train.ClassNames[9]);
        Assert.Equal(written.TrainLabels.Select(b => (int)b), train.Labels.ToArray());
        Assert.Equal(written.TestLabels.Select(b => (int)b), test.Labels.ToArray());
        // Oracle: each byte divided by 255 in double, rounded to float.
        Assert.Equal(written.TrainPixels.Select(b => (float)(b / 255.0)), train.Images.ToArray());
        Assert.Equal(written.TestPixels.Select(b => (float)(b / 255.0)), test.Images.ToArray());
        Assert.Contains("train-images-idx3-ubyte", train.Source);
        Assert.Contains("t10k-images-idx3-ubyte", test.Source);
    }

    [Fact]
    public void AcceptsTheDottedMnistFileNames()
    {
        IdxBytes.WriteDataset(_dir.Path, 3, 2, 2, 2, gzip: false);
        foreach (var f in Directory.GetFiles(_dir.Path))
            File.Move(f, f.Replace("-idx", ".idx"));

        var (train, test) = FashionMnist.Load(_dir.Path);

        Assert.Equal(3, train.Count);
        Assert.Equal(2, test.Count);
    }

    [Fact]
    public void CountMismatchNamesBothCounts()
    {
        IdxBytes.WriteDataset(_dir.Path, 6, 2, 2, 2, gzip: true);
        IdxBytes.Write(_dir.File("train-labels-idx1-ubyte.gz"), IdxBytes.Labels([1, 2, 3, 4, 5]), gzip: true);

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir.Path));

        Assert.Contains("image count 6", e.Message);
        Assert.Contains("!= label count 5", e.Message);
        Assert.EndsWith("train-labels-idx1-ubyte.gz", e.FilePath);
    }

    [Fact]
    public void LabelOutOfRangeIsCaughtOnTheHost()
    {
        IdxBytes.WriteDataset(_dir.Path, 4, 3, 2, 2, gzip: false);
        IdxBytes.Write(_dir.File("t10k-labels-idx1-ubyte"), IdxBytes.Labels([3, 12, 0]), gzip: false);

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir.Path));

        Assert.Contains("label 12 out of range for 10 classes at sample 1", e.Message);
        Assert.EndsWith("t10k-labels-idx1-ubyte", e.FilePath);
    }

    [Fact]
    public void TruncatedImageFileNamesTheFile()
    {
        IdxBytes.WriteDataset(_dir.Path, 4, 3, 2, 2, gzip: true);
        var raw = IdxBytes.Images(4, 2, 2, IdxBytes.Pattern(16, 1));
        IdxBytes.Write(_dir.File("train-images-idx3-ubyte.gz"), raw[..20], gzip: true);

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir.Path));

        Assert.EndsWith("train-images-idx3-ubyte.gz", e.FilePath);
        Assert.Contains("expected 16 bytes of image data (4x2x2) but the file ends after 4", e.Message);
    }

    [Fact]
    public void TrainAndTestImageSizesMustAgree()
    {
        IdxBytes.WriteDataset(_dir.Path, 4, 3, 2, 2, gzip: false);
        IdxBytes.Write(_dir.File("t10k-images-idx3-ubyte"), IdxBytes.Images(3, 2, 3, IdxBytes.Pattern(18, 1)), gzip: false);

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir.Path));

        Assert.Contains("test images are (C=1, H=2, W=3) but training images", e.Message);
        Assert.EndsWith("t10k-images-idx3-ubyte", e.FilePath);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        IdxBytes.WriteDataset(_dir.Path, 4, 3, 2, 2, gzip: true);
        File.Delete(_dir.File("t10k-labels-idx1-ubyte.gz"));

        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir.Path));

        Assert.Contains("t10k-labels-idx1-ubyte[.gz]", e.Message);
    }

    [Fact]
    public void TryFindPrefersTheExplicitDirectoryAndReportsWhatIsMissing()
    {
        IdxBytes.WriteDataset(_dir.Path, 2, 2, 2, 2, gzip: true);
        using var incomplete = new TempDirectory();
        IdxBytes.WriteDataset(incomplete.Path, 2, 2, 2, 2, gzip: true);
        File.Delete(incomplete.File("train-images-idx3-ubyte.gz"));

        Assert.True(FashionMnist.TryFind(_dir.Path, "/env/ignored", "/default/ignored", out var found, out var reason));
        Assert.Equal(_dir.Path, found);
        Assert.Contains("given data directory", reason);

        Assert.False(FashionMnist.TryFind(incomplete.Path, null, _dir.Path, out found, out reason));
        Assert.Null(found);
        Assert.Contains(incomplete.Path, reason);
        Assert.Contains("lacks train-images-idx3-ubyte[.gz]", reason);
    }

    [Fact]
    public void TryFindUsesTheEnvironmentThenTheDefault()
    {
        IdxBytes.WriteDataset(_dir.Path, 2, 2, 2, 2, gzip: false);
        string missing = _dir.File("does-not-exist");

        Assert.True(FashionMnist.TryFind(null, _dir.Path, missing, out var found, out var reason));
        Assert.Equal(_dir.Path, found);
        Assert.Contains("$CONVNET_DATA", reason);

        Assert.True(FashionMnist.TryFind("  ", "", _dir.Path, out found, out reason));
        Assert.Equal(_dir.Path, found);
        Assert.Contains("default location", reason);

        Assert.False(FashionMnist.TryFind(null, missing, _dir.Path, out found, out reason));
        Assert.Contains($"{missing} (from $CONVNET_DATA) does not exist", reason);

        Assert.False(FashionMnist.TryFind(null, null, missing, out found, out reason));
        Assert.Contains("dataset-fashion-mnist", reason);
        Assert.Contains(missing, reason);
    }
}
