using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// Invalid arguments at the op level (testing.md, "Error paths"), one test per row, run identically on every backend:
/// each asserts the exception type, that the message names the values, and that nothing was written.
/// </summary>
public abstract class BadInputSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    private static readonly Conv2dGeometry G = Conv2dSpec.Square(3, padding: 1, groups: 2).Resolve(TensorShape.Nchw(2, 4, 5, 5), 6);

    private Tensor Float(TensorShape s) => In(B, Rng.Uniform(s.ElementCount), s);

    private static void Names(Exception e, params string[] parts)
    {
        foreach (var p in parts) Assert.Contains(p, e.Message);
    }

    /// <summary>The op must fail before writing: the output keeps its poison.</summary>
    private static void Untouched(Tensor output) =>
        Assert.True(output.ToArray().All(float.IsNaN), $"output {output.Shape} was written by a call that failed validation");

    [Fact]
    public void ChannelMismatchNamesBothChannelCounts()
    {
        var y = Out(B, G.OutputShape);
        var e = Assert.Throws<ShapeMismatchException>(() =>
            B.Conv2dForward(Float(TensorShape.Nchw(2, 3, 5, 5)), Float(G.WeightShape), null, y, G));
        Names(e, "Conv2dForward", "4 channels", "3 channels");
        Untouched(y);
    }

    [Fact]
    public void WeightWhoseOutputChannelsAreNotDivisibleByGroups()
    {
        var y = Out(B, G.OutputShape);
        var e = Assert.Throws<InvalidGeometryException>(() =>
            B.Conv2dForward(Float(G.InputShape), Float(TensorShape.Of(5, 2, 3, 3)), null, y, G));
        Names(e, "groups=2", "divisible by 2", "d0=5");
        Untouched(y);
    }

    [Fact]
    public void WrongWeightShapeNamesExpectedAndActual()
    {
        var e = Assert.Throws<ShapeMismatchException>(() =>
            B.Conv2dBackwardData(Float(G.OutputShape), Float(TensorShape.Of(6, 4, 3, 3)), Out(B, G.InputShape), G));
        Names(e, "Conv2dBackwardData", "K=6, C/g=2, KH=3, KW=3", "d1=4");
    }

    [Fact]
    public void WrongBiasSizeNamesTheExpectedCount()
    {
        var y = Out(B, G.OutputShape);
        var e = Assert.Throws<ShapeMismatchException>(() =>
            B.Conv2dForward(Float(G.InputShape), Float(G.WeightShape), Float(TensorShape.Vector(5)), y, G));
        Names(e, "bias", "6 elements", "len=5");
        Untouched(y);
    }

    [Fact]
    public void WrongBiasSizeForBiasAddAndBiasGradient()
    {
        var o = Float(TensorShape.Nchw(2, 3, 4, 4));
        Names(Assert.Throws<ShapeMismatchException>(() => B.BiasAdd(o, Float(TensorShape.Vector(4)))), "BiasAdd", "3 elements", "len=4");
        Names(Assert.Throws<ShapeMismatchException>(() => B.BiasGradient(o, Out(B, TensorShape.Vector(2)), false)), "BiasGradient", "3 elements", "len=2");
    }

    [Fact]
    public void WrongRankNamesTheRanks()
    {
        var e = Assert.Throws<ShapeMismatchException>(() =>
            B.Conv2dForward(Float(TensorShape.Of(2, 4, 25)), Float(G.WeightShape), null, Out(B, G.OutputShape), G));
        Names(e, "4-dimensional input", "3-dimensional");
        Names(Assert.Throws<ShapeMismatchException>(() => B.SoftmaxForward(Float(TensorShape.Of(2, 3, 4)), Out(B, TensorShape.Of(2, 3, 4)))),
            "SoftmaxForward", "expected 2-dimensional x", "3-dimensional");
        Names(Assert.Throws<ShapeMismatchException>(() => B.BiasAdd(Float(TensorShape.Vector(4)), Float(TensorShape.Vector(4)))),
            "BiasAdd", "rank 2 to 4", "rank 1");
    }

    [Fact]
    public void WrongOutputShapeForConvAndPooling()
    {
        Names(Assert.Throws<ShapeMismatchException>(() =>
            B.Conv2dForward(Float(G.InputShape), Float(G.WeightShape), null, Out(B, TensorShape.Nchw(2, 6, 4, 5)), G)),
            "output", "(N=2, C=6, H=5, W=5)", "(N=2, C=6, H=4, W=5)");
        var pg = Pool2dSpec.Square(2).Resolve(TensorShape.Nchw(1, 2, 4, 4));
        Names(Assert.Throws<ShapeMismatchException>(() =>
            B.MaxPool2dForward(Float(pg.InputShape), Out(B, TensorShape.Nchw(1, 2, 3, 3)), Out(B, pg.OutputShape, DataType.Int32), pg)),
            "MaxPool2dForward", "H=2, W=2", "H=3, W=3");
        Names(Assert.Throws<ShapeMismatchException>(() =>
            B.Im2Col(Float(G.InputShape), Out(B, TensorShape.Vector(7)), G)), "Im2Col", "columns", "7 elements");
    }

    [Fact]
    public void ElementCountMismatchNamesBothCounts()
    {
        var y = Out(B, TensorShape.Vector(5));
        Names(Assert.Throws<ShapeMismatchException>(() => B.Add(Float(TensorShape.Vector(5)), Float(TensorShape.Vector(6)), y)),
            "Add", "5 elements", "6");
        Untouched(y);
        Names(Assert.Throws<ShapeMismatchException>(() => B.Copy(Float(TensorShape.Vector(3)), Out(B, TensorShape.Vector(4)))), "Copy", "3 elements", "4");
        Names(Assert.Throws<ShapeMismatchException>(() => B.Upload(Out(B, TensorShape.Vector(4)), new float[3])), "Upload", "3 floats", "4 elements");
        Names(Assert.Throws<ShapeMismatchException>(() => B.Download(Float(TensorShape.Vector(4)), new float[5])), "Download", "5 floats", "4 elements");
        Names(Assert.Throws<ShapeMismatchException>(() => B.ReduceSum(Float(TensorShape.Vector(10)), Out(B, TensorShape.Vector(2)), 2, 3, 2, false)),
            "ReduceSum", "10 elements", "12 elements");
        Names(Assert.Throws<ShapeMismatchException>(() =>
            B.SoftmaxCrossEntropyForward(Float(TensorShape.Matrix(3, 4)), InInt(B, [0, 1], TensorShape.Vector(2)), Out(B, TensorShape.Matrix(3, 4)), Out(B, TensorShape.Vector(3)))),
            "labels", "2 elements", "3 elements");
        Names(Assert.Throws<ShapeMismatchException>(() => B.Gemm(false, false, 3, 4, 5, 1f, Float(TensorShape.Vector(14)), Float(TensorShape.Vector(20)), 0f, Out(B, TensorShape.Vector(12)))),
            "Gemm", "14 elements", "15");
    }

    [Fact]
    public void WrongDataTypeNamesBothTypes()
    {
        var ints = InInt(B, new int[G.InputShape.ElementCount], G.InputShape);
        Names(Assert.Throws<ShapeMismatchException>(() => B.Conv2dForward(ints, Float(G.WeightShape), null, Out(B, G.OutputShape), G)),
            "input", "must be Float32", "Int32");
        var pg = Pool2dSpec.Square(2).Resolve(TensorShape.Nchw(1, 1, 4, 4));
        Names(Assert.Throws<ShapeMismatchException>(() => B.MaxPool2dForward(Float(pg.InputShape), Out(B, pg.OutputShape), Out(B, pg.OutputShape), pg)),
            "argmax", "must be Int32", "Float32");
        Names(Assert.Throws<ShapeMismatchException>(() => B.Copy(Float(TensorShape.Vector(3)), Out(B, TensorShape.Vector(3), DataType.Int32))),
            "Copy", "Float32", "Int32");
        Names(Assert.Throws<ShapeMismatchException>(() => B.Upload(Out(B, TensorShape.Vector(2), DataType.Int32), new float[2])), "must be Float32");
    }

    [Fact]
    public void TensorFromAnotherBackendIsRejected()
    {
        using var other = Backend.Cpu(1);
        using var foreign = other.Allocate(TensorShape.Vector(4));
        var y = Out(B, TensorShape.Vector(4));
        var e = Assert.Throws<ShapeMismatchException>(() => B.Add(foreign, Float(TensorShape.Vector(4)), y));
        Names(e, "Add", "lives on", other.Name, B.Name);
        Untouched(y);
    }

    [Fact]
    public void DisposedTensorIsRejected()
    {
        var t = B.Allocate(TensorShape.Vector(4));
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => B.Fill(t, 1f));
        var owner = B.Allocate(TensorShape.Vector(8));
        var view = owner.View(TensorShape.Vector(4), 2);
        owner.Dispose();
        Assert.True(view.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => B.Scale(view, 2f, Out(B, TensorShape.Vector(4))));
        Assert.Contains("disposed", e.Message);
    }

    [Fact]
    public void ScalarArgumentsAreChecked()
    {
        var x = Float(TensorShape.Vector(4));
        Names(Assert.Throws<ConvNetArgumentException>(() => B.DropoutForward(x, Out(B, x.Shape), Out(B, x.Shape), 1f, 1, 0)), "p=1");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.DropoutForward(x, Out(B, x.Shape), Out(B, x.Shape), -0.1f, 1, 0)), "p=-0.1");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.Gemm(false, false, 0, 2, 2, 1f, x, x, 0f, x)), "m must be positive", "0");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.Gemm(false, false, 2, 2, 1, float.NaN, x, x, 0f, x)), "alpha", "NaN");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.UpsampleNearest2dForward(Float(TensorShape.Nchw(1, 1, 2, 2)), Out(B, TensorShape.Nchw(1, 1, 2, 2)), 0, 1)), "scaleH", "0");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.FocalLossForward(Float(TensorShape.Matrix(1, 4)), InInt(B, [0], TensorShape.Vector(1)), -1f, Out(B, TensorShape.Matrix(1, 4)), Out(B, TensorShape.Vector(1)))), "gamma", "-1");
        var c = TensorShape.Vector(2);
        Names(Assert.Throws<ConvNetArgumentException>(() => B.BatchNorm2dForwardInference(Float(TensorShape.Nchw(2, 2, 2, 2)), Float(c), Float(c), Float(c), Float(c), 0f, Out(B, TensorShape.Nchw(2, 2, 2, 2)))), "epsilon", "0");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.SgdStep(x, Float(x.Shape), Float(x.Shape), 0.1f, 0f, 0f, nesterov: true)), "Nesterov", "momentum=0");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.AdamStep(x, Float(x.Shape), Float(x.Shape), Float(x.Shape), 0.1f, 1f, 0.999f, 1e-8f, 0f, false, 1)), "beta1=1");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.AdamStep(x, Float(x.Shape), Float(x.Shape), Float(x.Shape), 0.1f, 0.9f, 0.999f, 1e-8f, 0f, false, 0)), "step", "0");
        Names(Assert.Throws<ConvNetArgumentException>(() => B.GemmStridedBatched(false, false, 2, 2, 1, 1f, x, 0, x, 0, 0f, x, 1, 2)), "strideC=1", "overlap");
    }

    [Fact]
    public void UpsampleShapeMismatchNamesTheExpectedShape()
    {
        Names(Assert.Throws<ShapeMismatchException>(() =>
            B.UpsampleNearest2dForward(Float(TensorShape.Nchw(1, 2, 3, 3)), Out(B, TensorShape.Nchw(1, 2, 6, 5)), 2, 2)),
            "(N=1, C=2, H=6, W=6)", "(N=1, C=2, H=6, W=5)");
    }

    [Fact]
    public void HandEditedInconsistentGeometriesAreRejectedBeforeAnyWork()
    {
        // A geometry edited with `with` so OH/OW no longer follow from the sizes, with tensors that match the edit.
        var bad = G with { OH = 9, OW = 9 };
        var y = Out(B, bad.OutputShape);
        Names(Assert.Throws<InvalidGeometryException>(() =>
            B.Conv2dForward(Float(bad.InputShape), Float(bad.WeightShape), null, y, bad)), "9 x 9", "5 x 5", "Conv2dSpec.Resolve");
        Untouched(y);

        var pool = Pool2dSpec.Square(2).Resolve(TensorShape.Nchw(1, 2, 6, 6)) with { OH = 2 };
        var py = Out(B, pool.OutputShape);
        Names(Assert.Throws<InvalidGeometryException>(() =>
            B.AvgPool2dForward(Float(pool.InputShape), py, pool)), "OH x OW = 2 x 3", "Pool2dSpec.Resolve");
        Untouched(py);
    }
}
