using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

public sealed class NormalizationTests
{
    private static Dataset FromPixels(float[] pixels, int h, int w) =>
        new(pixels, new int[pixels.Length / (h * w)], TensorShape.Of(1, h, w), ["only"], "test");

    [Fact]
    public void FromDatasetComputesMeanAndPopulationStd()
    {
        // Two samples of 2x2: {0,0,1,1} and {1,1,0,0} -> mean 0.5, population std 0.5.
        var n = Normalization.FromDataset(FromPixels([0, 0, 1, 1, 1, 1, 0, 0], 2, 2));
        Assert.Equal(0.5f, n.Mean);
        Assert.Equal(0.5f, n.Std);
    }

    [Fact]
    public void FromDatasetMatchesADoubleOracle()
    {
        var pixels = IdxBytes.Pattern(3 * 7 * 5, seed: 11).Select(b => b / 255f).ToArray();
        double mean = pixels.Average(v => (double)v);
        double std = Math.Sqrt(pixels.Average(v => (v - mean) * (v - mean)));

        var n = Normalization.FromDataset(FromPixels(pixels, 7, 5));

        Assert.Equal(mean, n.Mean, tolerance: 1e-7);
        Assert.Equal(std, n.Std, tolerance: 1e-7);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]   // not a multiple of any vector width: exercises the scalar tail
    [InlineData(256)]
    public void ApplyStandardizesInPlace(int length)
    {
        var values = IdxBytes.Pattern(length, seed: length).Select(b => b / 255f).ToArray();
        var original = (float[])values.Clone();
        var n = new Normalization(0.2860f, 0.3530f);

        n.Apply(values);

        for (int i = 0; i < length; i++)
            Assert.Equal((original[i] - (double)0.2860f) / (double)0.3530f, values[i], tolerance: 1e-6);
    }

    [Fact]
    public void ApplyThenStatisticsGiveZeroMeanUnitStd()
    {
        var pixels = IdxBytes.Pattern(4 * 9 * 9, seed: 3).Select(b => b / 255f).ToArray();
        var data = FromPixels(pixels, 9, 9);
        var n = Normalization.FromDataset(data);
        n.Apply(pixels);

        var after = Normalization.FromDataset(data);

        Assert.Equal(0, after.Mean, tolerance: 1e-6);
        Assert.Equal(1, after.Std, tolerance: 1e-6);
    }

    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(0f, -1f)]
    [InlineData(0f, float.NaN)]
    [InlineData(float.PositiveInfinity, 1f)]
    public void InvalidStatisticsAreRejected(float mean, float std)
    {
        Assert.Throws<ConvNetArgumentException>(() => new Normalization(mean, std));
    }

    [Fact]
    public void ConstantDatasetCannotBeNormalized()
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => Normalization.FromDataset(FromPixels([0.5f, 0.5f, 0.5f, 0.5f], 2, 2)));
        Assert.Contains("standard deviation of 0", e.Message);
    }
}
