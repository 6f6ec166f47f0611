using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Max and average pooling forward/backward and nearest upsampling against <see cref="PoolReference"/> over <see cref="PoolCases"/>.</summary>
public abstract class PoolOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>Inputs with distinct values, so every max window has one winner and argmax is well defined.</summary>
    private float[] DistinctInput(Pool2dGeometry g) => Rng.DistinctValues((int)g.InputShape.ElementCount);

    [Theory, MemberData(nameof(PoolCases.Names), MemberType = typeof(PoolCases))]
    public void MaxForwardPicksTheWinnerExactly(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        var x = DistinctInput(g);
        var (y, arg) = PoolReference.MaxForward(D(x), g);
        Verify($"MaxPool2dForward {g}", (b, r) =>
        {
            var yo = Out(b, g.OutputShape);
            var ao = Out(b, g.OutputShape, DataType.Int32);
            b.MaxPool2dForward(In(b, x, g.InputShape), yo, ao, g);
            r.Add("y", yo, OpKind.Exact).Add("argmax", ao, OpKind.Exact);
        }, Expect(("y", y), ("argmax", D(arg))));
    }

    [Fact]
    public void MaxForwardBreaksTiesTowardTheFirstElementInRowMajorOrder()
    {
        var g = Pool2dSpec.Square(3, 1, padding: 1).Resolve(TensorShape.Nchw(1, 2, 4, 5));
        // Few distinct values, so most windows hold ties.
        var x = Array.ConvertAll(Rng.Labels((int)g.InputShape.ElementCount, 3), v => (float)v - 1.5f);
        var (y, arg) = PoolReference.MaxForward(D(x), g);
        Verify($"MaxPool2dForward ties {g}", (b, r) =>
        {
            var yo = Out(b, g.OutputShape);
            var ao = Out(b, g.OutputShape, DataType.Int32);
            b.MaxPool2dForward(In(b, x, g.InputShape), yo, ao, g);
            r.Add("y", yo, OpKind.Exact).Add("argmax", ao, OpKind.Exact);
        }, Expect(("y", y), ("argmax", D(arg))));
    }

    [Fact]
    public void MaxForwardPropagatesTheFirstNaNOfEachWindow()
    {
        // One 1x6 row, windows of 1x3 with stride 3: [1, NaN, 5] and [NaN, 2, NaN]. PyTorch keeps the first NaN.
        var g = new Pool2dSpec(1, 3).Resolve(TensorShape.Nchw(1, 1, 1, 6));
        float[] x = [1f, float.NaN, 5f, float.NaN, 2f, float.NaN];
        var y = Out(B, g.OutputShape);
        var a = Out(B, g.OutputShape, DataType.Int32);
        B.MaxPool2dForward(In(B, x, g.InputShape), y, a, g);
        var ys = y.ToArray();
        Assert.True(float.IsNaN(ys[0]) && float.IsNaN(ys[1]), $"both windows hold a NaN and must output NaN, got [{ys[0]}, {ys[1]}]");
        Assert.Equal([1, 3], a.ToInt32Array());
    }

    [Theory, MemberData(nameof(PoolCases.Names), MemberType = typeof(PoolCases))]
    public void MaxBackwardRoutesAndAccumulatesAtArgmax(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        var x = DistinctInput(g);
        var dy = Rng.Uniform(g.OutputShape.ElementCount);
        var (_, arg) = PoolReference.MaxForward(D(x), g);
        Verify($"MaxPool2dBackward {g}", (b, r) =>
        {
            var dx = Out(b, g.InputShape);
            b.MaxPool2dBackward(In(b, dy, g.OutputShape), InInt(b, arg, g.OutputShape), dx, g);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", PoolReference.MaxBackward(D(dy), arg, g))));
    }

    [Theory, MemberData(nameof(PoolCases.Names), MemberType = typeof(PoolCases))]
    public void AvgForwardMatchesReference(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        var x = Rng.Uniform(g.InputShape.ElementCount);
        Verify($"AvgPool2dForward {g} countIncludePad={g.CountIncludePadding}", (b, r) =>
        {
            var y = Out(b, g.OutputShape);
            b.AvgPool2dForward(In(b, x, g.InputShape), y, g);
            r.Add("y", y, OpKind.Pointwise);
        }, Expect(("y", PoolReference.AvgForward(D(x), g))));
    }

    [Theory, MemberData(nameof(PoolCases.Names), MemberType = typeof(PoolCases))]
    public void AvgBackwardSpreadsAndAccumulates(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        var dy = Rng.Uniform(g.OutputShape.ElementCount);
        Verify($"AvgPool2dBackward {g} countIncludePad={g.CountIncludePadding}", (b, r) =>
        {
            var dx = Out(b, g.InputShape);
            b.AvgPool2dBackward(In(b, dy, g.OutputShape), dx, g);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", PoolReference.AvgBackward(D(dy), g))));
    }

    public static TheoryData<int, int, int, int, int, int> UpsampleCases => new()
    {
        { 2, 3, 4, 5, 2, 2 }, { 1, 2, 3, 3, 3, 1 }, { 1, 1, 2, 5, 1, 4 }, { 2, 2, 1, 1, 2, 3 }, { 1, 3, 3, 2, 1, 1 },
    };

    [Theory, MemberData(nameof(UpsampleCases))]
    public void UpsampleForwardCopiesExactly(int n, int c, int h, int w, int sh, int sw)
    {
        var x = Rng.Uniform(n * c * h * w);
        Verify($"UpsampleNearest2dForward ({n},{c},{h},{w}) x({sh},{sw})", (b, r) =>
        {
            var y = Out(b, TensorShape.Nchw(n, c, h * sh, w * sw));
            b.UpsampleNearest2dForward(In(b, x, TensorShape.Nchw(n, c, h, w)), y, sh, sw);
            r.Add("y", y, OpKind.Exact);
        }, Expect(("y", PoolReference.UpsampleForward(D(x), n * c, h, w, sh, sw))));
    }

    [Theory, MemberData(nameof(UpsampleCases))]
    public void UpsampleBackwardSumsEachBlock(int n, int c, int h, int w, int sh, int sw)
    {
        var dy = Rng.Uniform(n * c * h * sh * w * sw);
        Verify($"UpsampleNearest2dBackward ({n},{c},{h},{w}) x({sh},{sw})", (b, r) =>
        {
            var dx = Out(b, TensorShape.Nchw(n, c, h, w));
            b.UpsampleNearest2dBackward(In(b, dy, TensorShape.Nchw(n, c, h * sh, w * sw)), dx, sh, sw);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", PoolReference.UpsampleBackward(D(dy), n * c, h, w, sh, sw))));
    }

    [Fact]
    public void PoolOpsAreDeterministic()
    {
        var g = Pool2dSpec.Square(3, 2, padding: 1).Resolve(TensorShape.Nchw(4, 6, 13, 12));
        var x = DistinctInput(g);
        var dy = Rng.Uniform(g.OutputShape.ElementCount);
        AssertDeterministic($"pool ops {g}", (b, r) =>
        {
            var xi = In(b, x, g.InputShape);
            var dyi = In(b, dy, g.OutputShape);
            var y = Out(b, g.OutputShape);
            var arg = Out(b, g.OutputShape, DataType.Int32);
            var dxMax = Out(b, g.InputShape);
            var ya = Out(b, g.OutputShape);
            var dxAvg = Out(b, g.InputShape);
            b.MaxPool2dForward(xi, y, arg, g);
            b.MaxPool2dBackward(dyi, arg, dxMax, g);
            b.AvgPool2dForward(xi, ya, g);
            b.AvgPool2dBackward(dyi, dxAvg, g);
            r.Add("max y", y, OpKind.Exact).Add("argmax", arg, OpKind.Exact).Add("max dx", dxMax, OpKind.Pointwise)
             .Add("avg y", ya, OpKind.Pointwise).Add("avg dx", dxAvg, OpKind.Pointwise);
        });
    }
}
