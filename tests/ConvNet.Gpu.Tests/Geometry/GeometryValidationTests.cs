using Xunit;

namespace ConvNet.Gpu.Tests.Geometry;

/// <summary>
/// Bad convolution and pooling hyper-parameters (testing.md, "Error paths"): one test per row, each asserting the exception
/// type and that the message names the offending values. These are raised by the specifications, before any backend sees them.
/// </summary>
public sealed class GeometryValidationTests
{
    private static void Names(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.Contains(p, e.Message);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, -2)]
    public void StrideMustBePositive(int sh, int sw)
    {
        var e = Assert.Throws<InvalidGeometryException>(() => new Conv2dSpec(3, 3, sh, sw));
        Names(e, "stride", $"({sh}, {sw})");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, -1)]
    public void DilationMustBePositive(int dh, int dw)
    {
        var e = Assert.Throws<InvalidGeometryException>(() => new Conv2dSpec(3, 3, dilationH: dh, dilationW: dw));
        Names(e, "dilation", $"({dh}, {dw})");
    }

    [Fact]
    public void KernelMustBePositive()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => new Conv2dSpec(0, 3));
        Names(e, "kernel", "(0, 3)");
    }

    [Fact]
    public void PaddingMustNotBeNegative()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Padding2d.Explicit(1, -1, 0, 2));
        Names(e, "negative padding", "bottom=-1");
        Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(3, padding: -2));
    }

    [Fact]
    public void KernelLargerThanThePaddedInputIsRejected()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(5, padding: 1).Resolve(TensorShape.Nchw(1, 1, 2, 8), 1));
        Names(e, "(4 x 10)", "(5 x 5)");
    }

    [Fact]
    public void DilatedKernelLargerThanThePaddedInputIsRejected()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(3, dilation: 3).Resolve(TensorShape.Nchw(1, 1, 6, 7), 1));
        Names(e, "(6 x 7)", "(7 x 7)", "dilation (3, 3)");
    }

    [Fact]
    public void GroupsMustDivideInputChannels()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(3, groups: 2).Resolve(TensorShape.Nchw(1, 3, 5, 5), 4));
        Names(e, "groups=2", "C=3");
    }

    [Fact]
    public void GroupsMustDivideOutputChannels()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(3, groups: 2).Resolve(TensorShape.Nchw(1, 4, 5, 5), 3));
        Names(e, "groups=2", "K=3");
    }

    [Fact]
    public void GroupsMustBePositive()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(3, groups: 0));
        Names(e, "groups=0");
    }

    [Fact]
    public void ConvInputMustHaveRank4()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Conv2dSpec.Square(3).Resolve(TensorShape.Of(2, 5, 5), 1));
        Names(e, "4-dimensional", "3-dimensional", "(d0=2, d1=5, d2=5)");
    }

    [Fact]
    public void ConvNeedsAnOutputChannel()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Conv2dSpec.Square(1).Resolve(TensorShape.Nchw(1, 1, 2, 2), 0));
        Names(e, "outChannels=0");
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(2, 2)]
    public void PoolingPaddingAtMostHalfTheKernel(int kernel, int pad)
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Pool2dSpec.Square(kernel, padding: pad));
        Names(e, "half", $"pad=({pad}, {pad})", $"kernel_size=({kernel}, {kernel})");
    }

    [Fact]
    public void PoolingStrideAndPaddingChecks()
    {
        Names(Assert.Throws<InvalidGeometryException>(() => new Pool2dSpec(2, 2, 0, 1)), "stride", "(0, 1)");
        Names(Assert.Throws<InvalidGeometryException>(() => new Pool2dSpec(2, 2, padH: -1)), "negative", "(-1, 0)");
        Names(Assert.Throws<InvalidGeometryException>(() => new Pool2dSpec(0, 2)), "kernel", "(0, 2)");
    }

    [Fact]
    public void PoolingWindowLargerThanTheInputIsRejected()
    {
        var e = Assert.Throws<InvalidGeometryException>(() => Pool2dSpec.Square(4).Resolve(TensorShape.Nchw(1, 1, 3, 6)));
        Names(e, "(3 x 6)", "(4 x 4)");
    }

    [Fact]
    public void PoolingInputMustHaveRank4()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Pool2dSpec.Square(2).Resolve(TensorShape.Matrix(4, 4)));
        Names(e, "4-dimensional", "2-dimensional");
    }

    [Fact]
    public void ConvNetArgumentExceptionsAreArgumentExceptions()
    {
        Assert.IsAssignableFrom<ArgumentException>(new InvalidGeometryException("x"));
        Assert.IsAssignableFrom<ConvNetArgumentException>(new ShapeMismatchException("x"));
    }
}
