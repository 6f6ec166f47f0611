using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// im2col, col2im, conv forward / backward-data / backward-weights, bias add and bias gradient on the backend under test,
/// against the float64 <see cref="ConvReference"/> over the whole <see cref="ConvCases"/> table.
/// </summary>
public abstract class ConvOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void Im2ColCopiesEveryTapExactly(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        var x = Rng.Uniform(g.InputShape.ElementCount);
        Verify($"Im2Col {g}", (b, r) =>
        {
            var col = Out(b, g.ColumnsShape);
            b.Im2Col(In(b, x, g.InputShape), col, g);
            r.Add("columns", col, OpKind.Exact);
        }, Expect(("columns", ConvReference.Im2Col(D(x), g))));
    }

    [Theory, MemberData(nameof(ConvCases.NonOverlappingNames), MemberType = typeof(ConvCases))]
    public void Col2ImOfOneContributionIsExact(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        var col = Rng.Uniform(g.ColumnsShape.ElementCount);
        Verify($"Col2Im {g}", (b, r) =>
        {
            var x = Out(b, g.InputShape);
            b.Col2Im(In(b, col, g.ColumnsShape), x, g);
            r.Add("input", x, OpKind.Exact);
        }, Expect(("input", ConvReference.Col2Im(D(col), g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void Col2ImSumsOverlappingTaps(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        var col = Rng.Uniform(g.ColumnsShape.ElementCount);
        Verify($"Col2Im {g}", (b, r) =>
        {
            var x = Out(b, g.InputShape);
            b.Col2Im(In(b, col, g.ColumnsShape), x, g);
            r.Add("input", x, OpKind.Pointwise);
        }, Expect(("input", ConvReference.Col2Im(D(col), g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void Col2ImIsTheAdjointOfIm2Col(string name)
    {
        // <im2col(x), c> = <x, col2im(c)> on the backend's own ops: catches a col2im that is not im2col's transpose.
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), c = Rng.Uniform(g.ColumnsShape.ElementCount);
        var cols = Out(B, g.ColumnsShape);
        var back = Out(B, g.InputShape);
        B.Im2Col(In(B, x, g.InputShape), cols, g);
        B.Col2Im(In(B, c, g.ColumnsShape), back, g);
        double lhs = GradientCheck.Objective(D(c), cols.ToArray()), rhs = GradientCheck.Objective(D(x), back.ToArray());
        TensorAssert.Close([lhs], [rhs], Under.VsFloat64(OpKind.Matmul).Times(10), null, Rng.Label($"<im2col x, c> vs <x, col2im c> {g}"));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void ForwardWithBiasMatchesReference(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount), bias = Rng.Uniform(g.K);
        Verify($"Conv2dForward {g}", (b, r) =>
        {
            var y = Out(b, g.OutputShape);
            b.Conv2dForward(In(b, x, g.InputShape), In(b, w, g.WeightShape), In(b, bias, g.BiasShape), y, g);
            r.Add("y", y, OpKind.Matmul);
        }, Expect(("y", ConvReference.Forward(D(x), D(w), D(bias), g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void ForwardWithoutBiasMatchesReference(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount);
        Verify($"Conv2dForward(no bias) {g}", (b, r) =>
        {
            var y = Out(b, g.OutputShape);
            b.Conv2dForward(In(b, x, g.InputShape), In(b, w, g.WeightShape), null, y, g);
            r.Add("y", y, OpKind.Matmul);
        }, Expect(("y", ConvReference.Forward(D(x), D(w), null, g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void BackwardDataMatchesRotatedFilterFullConvolution(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] dy = Rng.Uniform(g.OutputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount);
        Verify($"Conv2dBackwardData {g}", (b, r) =>
        {
            var dx = Out(b, g.InputShape);
            b.Conv2dBackwardData(In(b, dy, g.OutputShape), In(b, w, g.WeightShape), dx, g);
            r.Add("dx", dx, OpKind.Matmul);
        }, Expect(("dx", ConvReference.BackwardData(D(dy), D(w), g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void BackwardWeightsOverwrites(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), dy = Rng.Uniform(g.OutputShape.ElementCount);
        Verify($"Conv2dBackwardWeights(overwrite) {g}", (b, r) =>
        {
            var dw = Out(b, g.WeightShape);
            b.Conv2dBackwardWeights(In(b, x, g.InputShape), In(b, dy, g.OutputShape), dw, g, accumulate: false);
            r.Add("dw", dw, OpKind.Matmul);
        }, Expect(("dw", ConvReference.BackwardWeights(D(x), D(dy), g))));
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void BackwardWeightsAccumulates(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), dy = Rng.Uniform(g.OutputShape.ElementCount);
        float[] before = Rng.Uniform(g.WeightShape.ElementCount);
        var expected = ConvReference.BackwardWeights(D(x), D(dy), g);
        for (int i = 0; i < expected.Length; i++) expected[i] += before[i];
        Verify($"Conv2dBackwardWeights(accumulate) {g}", (b, r) =>
        {
            var dw = In(b, before, g.WeightShape);
            b.Conv2dBackwardWeights(In(b, x, g.InputShape), In(b, dy, g.OutputShape), dw, g, accumulate: true);
            r.Add("dw", dw, OpKind.Matmul);
        }, Expect(("dw", expected)));
    }

    public static TheoryData<int[]> BiasShapes => new([5, 3], [2, 4, 7], [2, 3, 4, 5], [1, 1, 1, 1], [3, 6, 1, 9]);

    [Theory, MemberData(nameof(BiasShapes))]
    public void BiasAddAddsPerChannel(int[] dims)
    {
        var shape = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)shape.ElementsFrom(2);
        float[] y0 = Rng.Uniform(shape.ElementCount), bias = Rng.Uniform(c);
        Verify($"BiasAdd {shape}", (b, r) =>
        {
            var y = In(b, y0, shape);
            b.BiasAdd(y, In(b, bias, TensorShape.Vector(c)));
            r.Add("y", y, OpKind.Pointwise);
        }, Expect(("y", ConvReference.BiasAdd(D(y0), D(bias), n, c, rest))));
    }

    [Theory, MemberData(nameof(BiasShapes))]
    public void BiasGradientSumsOverBatchAndSpace(int[] dims)
    {
        var shape = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)shape.ElementsFrom(2);
        float[] dy = Rng.Uniform(shape.ElementCount), prior = Rng.Uniform(c);
        var sum = ConvReference.BiasGradient(D(dy), n, c, rest);
        Verify($"BiasGradient(overwrite) {shape}", (b, r) =>
        {
            var db = Out(b, TensorShape.Vector(c));
            b.BiasGradient(In(b, dy, shape), db, accumulate: false);
            r.Add("db", db, OpKind.Pointwise);
        }, Expect(("db", sum)));
        Verify($"BiasGradient(accumulate) {shape}", (b, r) =>
        {
            var db = In(b, prior, TensorShape.Vector(c));
            b.BiasGradient(In(b, dy, shape), db, accumulate: true);
            r.Add("db", db, OpKind.Pointwise);
        }, Expect(("db", sum.Select((s, i) => s + prior[i]).ToArray())));
    }

    [Fact]
    public void OpsWorkOnBatchSliceViews()
    {
        // Tensors at a non-zero storage offset: samples 1..2 of a batch of 4.
        var g = Conv2dSpec.Square(3, padding: 1, groups: 2).Resolve(TensorShape.Nchw(2, 4, 5, 6), 4);
        var full = g.WithBatch(4);
        float[] x = Rng.Uniform(full.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount);
        long per = g.InputShape.ElementCount / 2;
        var xSlice = x.AsSpan((int)per, (int)(2 * per)).ToArray();
        Verify($"Conv2dForward on Slice(1, 2) {g}", (b, r) =>
        {
            var y = Out(b, full.OutputShape);
            var xs = In(b, x, full.InputShape);
            var ys = Track(y.Slice(1, 2));
            b.Conv2dForward(Track(xs.Slice(1, 2)), In(b, w, g.WeightShape), null, ys, g);
            r.Add("y", ys, OpKind.Matmul);
        }, Expect(("y", ConvReference.Forward(D(xSlice), D(w), null, g))));
    }

    [Fact]
    public void ConvOpsAreDeterministic()
    {
        var g = Conv2dSpec.Square(3, stride: 1, padding: 1, groups: 2).Resolve(TensorShape.Nchw(4, 8, 12, 11), 8);
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount);
        float[] bias = Rng.Uniform(g.K), dy = Rng.Uniform(g.OutputShape.ElementCount);
        AssertDeterministic($"conv ops {g}", (b, r) =>
        {
            var y = Out(b, g.OutputShape);
            var dx = Out(b, g.InputShape);
            var dw = Out(b, g.WeightShape);
            var db = Out(b, g.BiasShape);
            var col = Out(b, g.ColumnsShape);
            var xi = In(b, x, g.InputShape);
            var wi = In(b, w, g.WeightShape);
            var dyi = In(b, dy, g.OutputShape);
            b.Conv2dForward(xi, wi, In(b, bias, g.BiasShape), y, g);
            b.Conv2dBackwardData(dyi, wi, dx, g);
            b.Conv2dBackwardWeights(xi, dyi, dw, g, accumulate: false);
            b.BiasGradient(dyi, db, accumulate: false);
            b.Im2Col(xi, col, g);
            var back = Out(b, g.InputShape);
            b.Col2Im(col, back, g);
            r.Add("y", y, OpKind.Matmul).Add("dx", dx, OpKind.Matmul).Add("dw", dw, OpKind.Matmul)
             .Add("db", db, OpKind.Pointwise).Add("col2im(im2col(x))", back, OpKind.Pointwise);
        });
    }
}
