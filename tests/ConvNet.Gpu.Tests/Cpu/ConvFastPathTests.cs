using ConvNet.Gpu.Tests.Reference;
using ConvNet.Gpu.Backends.Cpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The CPU backend's im2col + packed-SGEMM convolutions against a direct seven-loop float64 convolution, over a table
/// of geometries (stride, asymmetric padding, Same/Full modes, dilation, groups, depthwise, 1x1 fast path, batch 1
/// and odd batches so both the sample-parallel and the GEMM-parallel schedules run), with one and two threads.
/// Also: exact im2col/col2im, NaN poison overwritten, bitwise-reproducible weight and bias gradients, bias ops.
/// </summary>
public sealed class ConvFastPathTests
{
    /// <summary>Geometry name x thread count; thread count 3 stands for 2 threads with one-output-row column blocks.</summary>
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in Geometries.Keys)
            foreach (int threads in new[] { 1, 2, 3 })
                data.Add(name, threads);
        return data;
    }

    /// <summary>A backend for a test case: 1 or 2 threads; "3" means 2 threads with im2col built one output row at a time.</summary>
    private static CpuBackend MakeBackend(int threads) =>
        threads == 3 ? new CpuBackend(2) { ColumnBlockFloats = 1 } : new CpuBackend(threads);

    private static readonly Dictionary<string, (int N, int C, int H, int W, int K, Conv2dSpec Spec)> Geometries = new()
    {
        ["3x3 pad1"] = (2, 3, 7, 9, 4, Conv2dSpec.Square(3, padding: 1)),
        ["3x2 stride(2,3) asym pad dilation(2,1)"] = (3, 4, 10, 11, 6, new Conv2dSpec(3, 2, 2, 3, Padding2d.Explicit(1, 0, 2, 1), 2, 1)),
        ["groups 2"] = (2, 4, 8, 8, 6, Conv2dSpec.Square(3, padding: 1, groups: 2)),
        ["depthwise asym pad"] = (2, 5, 9, 7, 5, new Conv2dSpec(3, 3, 1, 1, Padding2d.Explicit(0, 2, 1, 0), groups: 5)),
        ["depthwise multiplier 2 stride 2"] = (2, 3, 9, 8, 6, new Conv2dSpec(3, 3, 2, 2, Padding2d.Symmetric(1), groups: 3)),
        ["pointwise"] = (3, 7, 5, 6, 4, Conv2dSpec.Square(1)),
        ["1x1 stride 2"] = (2, 3, 7, 7, 5, Conv2dSpec.Square(1, stride: 2)),
        ["1x1 pad 1"] = (1, 2, 4, 4, 3, Conv2dSpec.Square(1, padding: 1)),
        ["full padding 2x2"] = (2, 2, 3, 4, 3, new Conv2dSpec(2, 2, padding: Padding2d.Full)),
        ["kernel equals input"] = (2, 3, 5, 5, 4, Conv2dSpec.Square(5)),
        ["batch 1 wide"] = (1, 16, 20, 20, 24, Conv2dSpec.Square(3, padding: 1)),
        ["odd batch same stride 2"] = (5, 3, 6, 7, 4, new Conv2dSpec(3, 3, 2, 2, Padding2d.Same)),
        ["batch 8 5x5 groups 2"] = (8, 6, 9, 9, 8, Conv2dSpec.Square(5, padding: 2, groups: 2)),
        ["dilation 3 same"] = (2, 3, 11, 10, 5, new Conv2dSpec(3, 3, padding: Padding2d.Same, dilationH: 3, dilationW: 3)),
        ["stride 3 larger than kernel"] = (2, 2, 10, 10, 3, Conv2dSpec.Square(2, stride: 3)),
        ["depthwise dilated stride 2 wide"] = (3, 24, 17, 19, 24, new Conv2dSpec(3, 3, 2, 2, Padding2d.Explicit(2, 1, 2, 0), 2, 2, groups: 24)),
        ["depthwise 5x5 multiplier 3 batch 1"] = (1, 4, 12, 12, 12, Conv2dSpec.Square(5, padding: 2, groups: 4)),
        ["single channel many filters (transposed weight gradient)"] = (4, 1, 9, 9, 40, Conv2dSpec.Square(3)),
        ["batch 1 many filters (transposed weight gradient)"] = (1, 1, 8, 8, 48, Conv2dSpec.Square(3, padding: 1)),
        ["2x2 groups 2 many filters (transposed weight gradient)"] = (4, 4, 7, 6, 48, new Conv2dSpec(2, 2, groups: 2)),
        ["stride 2 wide rows (vector gather)"] = (2, 3, 9, 41, 4, new Conv2dSpec(3, 3, 2, 2, Padding2d.Explicit(1, 0, 1, 2))),
        ["stride 3 wide rows (vector gather)"] = (2, 3, 9, 60, 4, new Conv2dSpec(3, 3, 3, 3, Padding2d.Explicit(1, 0, 2, 1))),
        ["stride 2 dilation 2 wide rows"] = (1, 2, 7, 50, 3, new Conv2dSpec(3, 2, 2, 2, Padding2d.Symmetric(2), 1, 2)),
        ["many channels k > panel"] = (4, 20, 6, 6, 40, Conv2dSpec.Square(3, padding: 1)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesDirectConvolution(string name, int threads)
    {
        var (g, x, w, b, dy) = Setup(name);
        using var backend = MakeBackend(threads);
        using var tx = Upload(backend, g.InputShape, x);
        using var tw = Upload(backend, g.WeightShape, w);
        using var tb = Upload(backend, g.BiasShape, b);
        using var ty = Upload(backend, g.OutputShape, Poison(g.OutputShape));
        backend.Conv2dForward(tx, tw, tb, ty, g);
        AssertClose(ReferenceForward(g, x, w, b), ty.ToArray(), g.ColumnRowsPerGroup, $"{name} forward");

        using var ty2 = Upload(backend, g.OutputShape, Poison(g.OutputShape));
        backend.Conv2dForward(tx, tw, null, ty2, g);
        AssertClose(ReferenceForward(g, x, w, null), ty2.ToArray(), g.ColumnRowsPerGroup, $"{name} forward without bias");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardDataMatchesDirectConvolution(string name, int threads)
    {
        var (g, _, w, _, dy) = Setup(name);
        using var backend = MakeBackend(threads);
        using var tw = Upload(backend, g.WeightShape, w);
        using var tdy = Upload(backend, g.OutputShape, dy);
        using var tdx = Upload(backend, g.InputShape, Poison(g.InputShape));
        backend.Conv2dBackwardData(tdy, tw, tdx, g);
        AssertClose(ReferenceBackwardData(g, dy, w), tdx.ToArray(), g.KPerGroup * g.KH * g.KW, $"{name} backward-data");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardWeightsMatchesDirectConvolutionAndAccumulates(string name, int threads)
    {
        var (g, x, _, _, dy) = Setup(name);
        using var backend = MakeBackend(threads);
        using var tx = Upload(backend, g.InputShape, x);
        using var tdy = Upload(backend, g.OutputShape, dy);
        using var tdw = Upload(backend, g.WeightShape, Poison(g.WeightShape));
        backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
        double[] expected = ReferenceBackwardWeights(g, x, dy);
        int length = g.N * g.OutputPlane;
        float[] once = tdw.ToArray();
        AssertClose(expected, once, length, $"{name} backward-weights");

        backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: true);
        AssertClose(expected.Select(v => 2 * v).ToArray(), tdw.ToArray(), 2 * length, $"{name} backward-weights accumulate");

        // Same input, same bits: the batch reduction has a fixed order.
        backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
        Assert.Equal(once, tdw.ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Im2ColIsExactAndCol2ImIsItsAdjoint(string name, int threads)
    {
        var (g, _, _, _, _) = Setup(name);
        using var backend = MakeBackend(threads);
        // Small integers: every sum is exact in float32, so col2im can be compared bit for bit.
        var rng = new Random(11);
        float[] x = Enumerable.Range(0, (int)g.InputShape.ElementCount).Select(_ => (float)rng.Next(-8, 9)).ToArray();
        float[] cols = Enumerable.Range(0, (int)g.ColumnsShape.ElementCount).Select(_ => (float)rng.Next(-8, 9)).ToArray();
        using var tx = Upload(backend, g.InputShape, x);
        using var tc = Upload(backend, g.ColumnsShape, Poison(g.ColumnsShape));
        backend.Im2Col(tx, tc, g);
        Assert.Equal(ReferenceIm2Col(g, x), tc.ToArray());

        tc.Upload(cols);
        tx.Upload(Poison(g.InputShape));
        backend.Col2Im(tc, tx, g);
        Assert.Equal(ReferenceCol2Im(g, cols), tx.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void BiasAddAndGradientMatchReferenceForConvAndDenseShapes(int threads)
    {
        using var backend = new CpuBackend(threads);
        var rng = new Random(21);
        foreach (var shape in new[] { TensorShape.Nchw(3, 5, 7, 9), TensorShape.Matrix(37, 11), TensorShape.Nchw(64, 16, 20, 20) })
        {
            int n = shape[0], c = shape[1], rest = (int)(shape.ElementCount / (n * c));
            float[] y = Random(rng, (int)shape.ElementCount), b = Random(rng, c);
            using var ty = Upload(backend, shape, y);
            using var tb = Upload(backend, TensorShape.Vector(c), b);
            backend.BiasAdd(ty, tb);
            float[] got = ty.ToArray();
            for (int i = 0; i < y.Length; i++)
                Assert.Equal(y[i] + b[i / rest % c], got[i]);

            using var tg = Upload(backend, TensorShape.Vector(c), Poison(TensorShape.Vector(c)));
            backend.BiasGradient(ty, tg, accumulate: false);
            var expected = new double[c];
            for (int i = 0; i < got.Length; i++) expected[i / rest % c] += got[i];
            float[] once = tg.ToArray();
            AssertClose(expected, once, n * rest, $"bias gradient {shape}");
            backend.BiasGradient(ty, tg, accumulate: true);
            AssertClose(expected.Select(v => 2 * v).ToArray(), tg.ToArray(), 2 * n * rest, $"bias gradient accumulate {shape}");
            backend.BiasGradient(ty, tg, accumulate: false);
            Assert.Equal(once, tg.ToArray());
        }
    }

    // ------------------------------------------------------------ setup and oracle

    private static (Conv2dGeometry G, float[] X, float[] W, float[] B, float[] Dy) Setup(string name)
    {
        var (n, c, h, w, k, spec) = Geometries[name];
        var g = spec.Resolve(TensorShape.Nchw(n, c, h, w), k);
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7fff);
        return (g, Random(rng, (int)g.InputShape.ElementCount), Random(rng, (int)g.WeightShape.ElementCount),
            Random(rng, g.K), Random(rng, (int)g.OutputShape.ElementCount));
    }

    // The oracle is the shared float64 direct-loop reference (tests/ConvNet.Gpu.Tests/Reference/ConvReference.cs).
    private static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);
    private static float[] F(double[] a) => Array.ConvertAll(a, v => (float)v);
    private static double[] ReferenceForward(Conv2dGeometry g, float[] x, float[] w, float[]? b) =>
        ConvReference.Forward(D(x), D(w), b is null ? null : D(b), g);
    private static double[] ReferenceBackwardData(Conv2dGeometry g, float[] dy, float[] w) => ConvReference.BackwardData(D(dy), D(w), g);
    private static double[] ReferenceBackwardWeights(Conv2dGeometry g, float[] x, float[] dy) => ConvReference.BackwardWeights(D(x), D(dy), g);
    private static float[] ReferenceIm2Col(Conv2dGeometry g, float[] x) => F(ConvReference.Im2Col(D(x), g));
    private static float[] ReferenceCol2Im(Conv2dGeometry g, float[] cols) => F(ConvReference.Col2Im(D(cols), g));

    // ------------------------------------------------------------ helpers

    private static Tensor Upload(IBackend backend, TensorShape shape, float[] data)
    {
        var t = backend.Allocate(shape);
        t.Upload(data);
        return t;
    }

    private static float[] Poison(TensorShape shape) => Enumerable.Repeat(float.NaN, (int)shape.ElementCount).ToArray();

    private static float[] Random(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>|a - e| &lt;= atol + rtol |e| with atol growing like sqrt(reduction length) (float32 rounding of a sum of terms in [-1, 1]).</summary>
    private static void AssertClose(double[] expected, float[] actual, int reductionLength, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double atol = 1e-5 * Math.Sqrt(reductionLength) + 1e-5, rtol = 1e-4;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}: element {i} = {actual[i]}, expected {expected[i]} (atol {atol:E2})");
    }
}
