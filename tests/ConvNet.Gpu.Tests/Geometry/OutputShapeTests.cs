using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Geometry;

/// <summary>worked-examples.md §1: output sizes, padding modes and the parameter counts computable from Conv2dSpec shapes.</summary>
public sealed class OutputShapeTests
{
    [Fact]
    public void KerasConv2D64Of3x3On28x28x1Gives26x26x64And640Parameters()
    {
        var spec = Conv2dSpec.Square(3);
        var g = spec.Resolve(TensorShape.Nchw(1, 1, 28, 28), 64);
        Assert.Equal((64, 26, 26), (g.K, g.OH, g.OW));
        Assert.Equal(640, spec.WeightShape(1, 64).ElementCount + g.BiasShape.ElementCount);
    }

    [Fact]
    public void Seed004FirstLayerOf20Kernels5x5Has520Parameters()
    {
        var g = Conv2dSpec.Square(5).Resolve(TensorShape.Nchw(1, 1, 28, 28), 20);
        Assert.Equal(520, g.WeightShape.ElementCount + g.BiasShape.ElementCount);
        Assert.Equal((24, 24), (g.OH, g.OW));
    }

    [Fact]
    public void Seed004MlpWith100HiddenUnitsHas78500ParametersAsAKernelEqualToTheInput()
    {
        // A dense layer 784 -> 100 is a 28x28 convolution with 100 filters on a 28x28 image: output 1x1.
        var g = Conv2dSpec.Square(28).Resolve(TensorShape.Nchw(1, 1, 28, 28), 100);
        Assert.Equal((1, 1), (g.OH, g.OW));
        Assert.Equal(78_500, g.WeightShape.ElementCount + g.BiasShape.ElementCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void SamePaddingIsFloorHalfKernelAndKeepsTheSizeForOddKernels(int k)
    {
        var g = new Conv2dSpec(k, k, padding: Padding2d.Same).Resolve(TensorShape.Nchw(1, 1, 11, 9), 1);
        Assert.Equal((11, 9), (g.OH, g.OW));
        Assert.Equal((k / 2, k / 2, k / 2, k / 2), (g.PadTop, g.PadBottom, g.PadLeft, g.PadRight));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 1)]
    public void FullPaddingIsEffectiveKernelMinusOneAndGrowsTheOutput(int k, int d)
    {
        int keff = k + (k - 1) * (d - 1);
        var g = new Conv2dSpec(k, k, padding: Padding2d.Full, dilationH: d, dilationW: d).Resolve(TensorShape.Nchw(1, 1, 6, 5), 1);
        Assert.Equal((keff - 1, keff - 1), (g.PadTop, g.PadLeft));
        Assert.Equal((6 + keff - 1, 5 + keff - 1), (g.OH, g.OW));
    }

    [Fact]
    public void ValidPaddingIsZero()
    {
        var g = Conv2dSpec.Square(3).Resolve(TensorShape.Nchw(1, 1, 7, 6), 1);
        Assert.Equal((0, 0, 0, 0), (g.PadTop, g.PadBottom, g.PadLeft, g.PadRight));
        Assert.Equal((5, 4), (g.OH, g.OW));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(2, 3)]
    public void SamePaddingGivesCeilOfInputOverStride(int s, int d)
    {
        for (int x = 5; x <= 12; x++)
        {
            var g = new Conv2dSpec(3, 3, s, s, Padding2d.Same, d, d).Resolve(TensorShape.Nchw(1, 1, x, x), 1);
            Assert.Equal((x + s - 1) / s, g.OH);
            Assert.True(g.PadBottom - g.PadTop is 0 or 1, $"extra same-padding goes to the bottom: {g}");
        }
    }

    /// <summary>Both forms of the formula (seed 000 and seed 002's r = (n + 2p - (f-1)*l - 1)/s + 1) over a grid of sizes.</summary>
    [Fact]
    public void ResolveFollowsTheOutputSizeFormulaOverAGrid()
    {
        int checkedCount = 0;
        for (int x = 1; x <= 9; x++)
        for (int k = 1; k <= 4; k++)
        for (int s = 1; s <= 3; s++)
        for (int p = 0; p <= 2; p++)
        for (int d = 1; d <= 2; d++)
        {
            int keff = k + (k - 1) * (d - 1);
            if (x + 2 * p < keff) continue;
            var g = Conv2dSpec.Square(k, s, p, d).Resolve(TensorShape.Nchw(1, 1, x, x + 1), 1);
            int seed000 = (int)Math.Floor((x + 2 * p - k - (k - 1) * (d - 1)) / (double)s) + 1;
            int seed002 = (x + 2 * p - (k - 1) * d - 1) / s + 1;
            Assert.Equal(seed000, seed002);
            Assert.Equal(seed000, g.OH);
            Assert.Equal(ConvReference.OutputSize(x + 1, p, p, k, s, d), g.OW);
            checkedCount++;
        }
        Assert.True(checkedCount > 300);
    }

    [Fact]
    public void AsymmetricPaddingEntersTheFormulaPerSide()
    {
        var g = new Conv2dSpec(3, 2, 2, 1, Padding2d.Explicit(2, 0, 1, 3)).Resolve(TensorShape.Nchw(2, 3, 5, 6), 4);
        Assert.Equal((5 + 2 + 0 - 3) / 2 + 1, g.OH);
        Assert.Equal(6 + 1 + 3 - 2 + 1, g.OW);
        Assert.Equal(TensorShape.Nchw(2, 4, g.OH, g.OW), g.OutputShape);
        Assert.True(g.WeightShape.SameDimensions(TensorShape.Of(4, 3, 3, 2)));
        Assert.True(g.ColumnsShape.SameDimensions(TensorShape.Of(2, 3 * 3 * 2, g.OH * g.OW)));
    }

    [Fact]
    public void GroupsSplitTheWeightAndTheColumnRows()
    {
        var g = Conv2dSpec.Square(3, groups: 4).Resolve(TensorShape.Nchw(1, 8, 5, 5), 12);
        Assert.True(g.WeightShape.SameDimensions(TensorShape.Of(12, 2, 3, 3)));
        Assert.Equal((2, 3, 18), (g.CPerGroup, g.KPerGroup, g.ColumnRowsPerGroup));
        Assert.Equal(1L * 12 * 3 * 3 * 2 * 3 * 3, g.MacCount);
    }

    [Theory]
    [InlineData(6, 2, 2, 0, false, 3)]
    [InlineData(7, 2, 2, 0, false, 3)]
    [InlineData(7, 2, 2, 0, true, 4)]
    [InlineData(5, 3, 2, 0, false, 2)]
    [InlineData(6, 3, 2, 0, true, 3)]
    [InlineData(5, 3, 2, 1, true, 3)]
    [InlineData(5, 2, 2, 1, true, 3)]
    [InlineData(4, 4, 4, 0, false, 1)]
    public void PoolingOutputSizeFloorAndCeilMode(int x, int k, int s, int p, bool ceil, int expected)
    {
        // Ceil mode: ceil((x + 2p - k) / s) + 1, minus one when the last window would start in the right padding (PyTorch).
        var g = Pool2dSpec.Square(k, s, p, ceil).Resolve(TensorShape.Nchw(1, 1, x, x));
        Assert.Equal(expected, g.OH);
        Assert.Equal(expected, g.OW);
        int o = ceil ? (x + 2 * p - k + s - 1) / s + 1 : (x + 2 * p - k) / s + 1;
        if (ceil && (o - 1) * s >= x + p) o--;
        Assert.Equal(o, g.OH);
    }
}
