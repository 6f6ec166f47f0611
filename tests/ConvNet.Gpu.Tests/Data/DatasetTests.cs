using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

public sealed class DatasetTests
{
    private static readonly string[] ThreeClasses = ["a", "b", "c"];

    private static Dataset Make(int count) =>
        new(Enumerable.Range(0, count * 4).Select(i => (float)i).ToArray(),
            Enumerable.Range(0, count).Select(i => i % 3).ToArray(),
            TensorShape.Of(1, 2, 2), ThreeClasses, "made");

    [Fact]
    public void ExposesShapeCountsAndClasses()
    {
        var d = Make(5);

        Assert.Equal(5, d.Count);
        Assert.Equal(4, d.SampleSize);
        Assert.Equal(["C", "H", "W"], d.SampleShape.Names);
        Assert.Equal(3, d.ClassCount);
        Assert.Equal([2, 2, 1], d.CountPerClass());
        Assert.Equal([8f, 9f, 10f, 11f], d.GetImage(2).ToArray());
        Assert.Contains("5 samples of (C=1, H=2, W=2), 3 classes, from made", d.ToString());
    }

    [Fact]
    public void SubsetAndTakeShareMemoryAndKeepContent()
    {
        var d = Make(6);

        var sub = d.Subset(2, 3);
        var first = d.Take(2);

        Assert.Equal(3, sub.Count);
        Assert.Equal(Enumerable.Range(8, 12).Select(i => (float)i), sub.Images.ToArray());
        Assert.Equal([2, 0, 1], sub.Labels.ToArray());
        Assert.Equal(2, first.Count);
        Assert.Equal([0, 1], first.Labels.ToArray());
        Assert.Same(d, d.Take(100));
        Assert.Equal(0, d.Subset(6, 0).Count);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(sub.Images, out var seg));
        Assert.Equal(8, seg.Offset); // a view into the same array, not a copy
        Assert.Contains("[2..5)", sub.Source);
    }

    [Theory]
    [InlineData(-1, 2)]
    [InlineData(5, 2)]
    [InlineData(0, 7)]
    [InlineData(2, -1)]
    public void SubsetOutsideTheDatasetIsRejected(int start, int count)
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => Make(6).Subset(start, count));
        Assert.Contains($"Subset(start: {start}, count: {count})", e.Message);
        Assert.Contains("6 samples", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeIsRejectedWithItsPosition()
    {
        var e = Assert.Throws<ConvNetArgumentException>(() =>
            new Dataset(new float[12], [0, 3, 1], TensorShape.Of(1, 2, 2), ThreeClasses, "bad"));
        Assert.Contains("label 3 at sample 1 is out of range for 3 classes", e.Message);

        e = Assert.Throws<ConvNetArgumentException>(() =>
            new Dataset(new float[12], [0, 1, -1], TensorShape.Of(1, 2, 2), ThreeClasses, "bad"));
        Assert.Contains("label -1 at sample 2", e.Message);
    }

    [Fact]
    public void LengthMismatchIsRejected()
    {
        var e = Assert.Throws<ShapeMismatchException>(() =>
            new Dataset(new float[10], [0, 1, 2], TensorShape.Of(1, 2, 2), ThreeClasses, "bad"));
        Assert.Contains("3 labels of sample shape (C=1, H=2, W=2) need 12 image values, got 10", e.Message);
    }

    [Fact]
    public void SampleShapeMustBeRank1To3()
    {
        var e = Assert.Throws<ShapeMismatchException>(() =>
            new Dataset(new float[8], [0, 1], TensorShape.Of(1, 1, 2, 2), ThreeClasses, "bad"));
        Assert.Contains("rank 1 to 3", e.Message);
        Assert.Equal(["F"], new Dataset(new float[8], [0, 1], TensorShape.Of(4), ThreeClasses, "vectors").SampleShape.Names);
        Assert.Equal([2, 2], new Dataset(new float[8], [0, 1], TensorShape.Of(2, 2), ThreeClasses, "matrices").SampleShape.Dimensions);
    }
}
