using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Examples;

/// <summary>
/// Every worked example of worked-examples.md §2-§8 with its exact numbers, on the backend under test and on the float64
/// reference. Numbers are written from the document (never from code output); float32 results must match them up to
/// float32 rounding of the decimal inputs (<see cref="Rounding"/>).
/// </summary>
public abstract class WorkedExamplesSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>Float32 rounding of decimal data such as 0.1: a few ulps of values of order 1.</summary>
    private static readonly Tolerance Rounding = new(1e-6, 1e-6);

    private static readonly Tolerance Float64 = new(1e-12, 1e-12);

    /// <summary>
    /// Conv examples: float32 rounding, unless the backend declares reduced-precision matmul (TF32 on CUDA) through a
    /// float64 tolerance looser than testing.md's FP32 one; then that tolerance.
    /// </summary>
    private Tolerance ConvRounding =>
        Under.VsFloat64(OpKind.Matmul).Atol > Tolerance.Float32VsFloat64.Atol ? Under.VsFloat64(OpKind.Matmul) : Rounding;

    private float[] RunFloat(Action<IBackend, OpResult> run, string output) => RunOn(B, run)[output].Floats!;

    // ------------------------------------------------------------------ §2

    private static readonly float[] D1 = [1, 3, 2, 2], D2 = [2, 1, 1, 1];
    private static readonly float[] K1 = [0.1f, 0.2f, 0.2f, 0.4f], K2 = [-0.3f, 0.1f, 0.1f, 0.2f];
    private static readonly double[] Dx1 = [0.1, 0.5, 0.6, 0.4, 1.6, 1.6, 0.4, 1.2, 0.8];
    private static readonly double[] Dx2 = [-0.6, -0.1, 0.1, -0.1, 0.3, 0.3, 0.1, 0.3, 0.2]; // the notes' +0.1 at (0,1) is wrong
    private static readonly double[] DxBoth = [-0.5, 0.4, 0.7, 0.3, 1.9, 1.9, 0.5, 1.5, 1.0];

    private static Conv2dGeometry Sensitivity(int k) => Conv2dSpec.Square(2).Resolve(TensorShape.Nchw(1, 1, 3, 3), k);

    private float[] BackwardData(float[] dy, float[] w, Conv2dGeometry g) => RunFloat((b, r) =>
    {
        var dx = Out(b, g.InputShape);
        b.Conv2dBackwardData(In(b, dy, g.OutputShape), In(b, w, g.WeightShape), dx, g);
        r.Add("dx", dx, OpKind.Matmul);
    }, "dx");

    [Fact]
    public void S2_BackwardOfEachFilterIsFullConvolutionWithRotatedFilter()
    {
        var g = Sensitivity(1);
        TensorAssert.Close(BackwardData(D1, K1, g), Dx1, ConvRounding, g.InputShape, "§2 dX for d1, k1");
        TensorAssert.Close(BackwardData(D2, K2, g), Dx2, ConvRounding, g.InputShape, "§2 dX for d2, k2");
        TensorAssert.Close(ConvReference.BackwardData(D(D1), D(K1), g), Dx1, new(1e-7, 0), g.InputShape, "§2 reference, d1, k1");
        TensorAssert.Close(ConvReference.BackwardData(D(D2), D(K2), g), Dx2, new(1e-7, 0), g.InputShape, "§2 reference, d2, k2");
    }

    [Fact]
    public void S2_CombinedLayerSumsBothFilters()
    {
        var g = Sensitivity(2);
        float[] dy = [.. D1, .. D2], w = [.. K1, .. K2];
        TensorAssert.Close(BackwardData(dy, w, g), DxBoth, ConvRounding, g.InputShape, "§2 combined layer dX");
        TensorAssert.Close(ConvReference.BackwardData(D(dy), D(w), g), DxBoth, new(1e-7, 0), g.InputShape, "§2 reference, combined");
    }

    [Fact]
    public void S2_ForwardFullConvolutionOfDyWithRotatedFilterGivesTheSameDx()
    {
        // The identity itself: conv(dY, rot180(k)) with full padding (k - 1 = 1) on the backend's forward op.
        var g = new Conv2dSpec(2, 2, padding: Padding2d.Full).Resolve(TensorShape.Nchw(1, 1, 2, 2), 1);
        foreach (var (dy, k, dx) in new[] { (D1, K1, Dx1), (D2, K2, Dx2) })
        {
            float[] rotated = [k[3], k[2], k[1], k[0]];
            var y = RunFloat((b, r) =>
            {
                var o = Out(b, g.OutputShape);
                b.Conv2dForward(In(b, dy, g.InputShape), In(b, rotated, g.WeightShape), null, o, g);
                r.Add("y", o, OpKind.Matmul);
            }, "y");
            TensorAssert.Close(y, dx, ConvRounding, g.OutputShape, "§2 full conv of dY with rot180(k)");
        }
    }

    // ------------------------------------------------------------------ §3

    // Column-major names of seed 000: x0, x1, x2 run down the first column; x9..x17 are channel 1.
    private static int Xi(int i) => (i / 9) * 9 + (i % 9 % 3) * 3 + (i % 9 / 3);
    // dy0..dy3 belong to filter 1, dy4..dy7 to filter 2; each 2x2 column-major.
    private static int Dyi(int i) => (i / 4) * 4 + (i % 4 % 2) * 2 + (i % 4 / 2);
    // f_i^j: element i (column-major 2x2) of channel c of filter j (1-based); weight (K=2, C=2, 2, 2).
    private static int Fi(int j, int c, int i) => ((j - 1) * 2 + c) * 4 + (i % 2) * 2 + (i / 2);

    [Fact]
    public void S3_SymbolicIdentitiesHoldOnRandomData()
    {
        var g = Conv2dSpec.Square(2).Resolve(TensorShape.Nchw(1, 2, 3, 3), 2);
        Assert.Equal((2, 2), (g.OH, g.OW));
        float[] x = Rng.Uniform(18), w = Rng.Uniform(16), dy = Rng.Uniform(8);
        double X(int i) => x[Xi(i)];
        double Dy(int i) => dy[Dyi(i)];
        double F(int j, int c, int i) => w[Fi(j, c, i)];

        var dx = BackwardData(dy, w, g);
        var res = RunOn(B, (b, r) =>
        {
            var dwo = Out(b, g.WeightShape);
            var dbo = Out(b, g.BiasShape);
            var dyi = In(b, dy, g.OutputShape);
            b.Conv2dBackwardWeights(In(b, x, g.InputShape), dyi, dwo, g, accumulate: false);
            b.BiasGradient(dyi, dbo, accumulate: false);
            r.Add("dw", dwo, OpKind.Matmul).Add("db", dbo, OpKind.Pointwise);
        });
        var dw = res["dw"].Floats!;
        var db = res["db"].Floats!;
        var tol = Under.VsFloat64(OpKind.Matmul);
        void Check(double actual, double expected, string formula) =>
            TensorAssert.Close([actual], [expected], tol, null, Rng.Label($"§3 {formula}"));

        for (int c = 0; c < 2; c++)
        {
            int o = 9 * c; // x9..x17 for channel 1
            Check(dx[Xi(o + 0)], Dy(0) * F(1, c, 0) + Dy(4) * F(2, c, 0), $"dx{o} = dy0 f0^1 + dy4 f0^2 (channel {c})");
            Check(dx[Xi(o + 4)],
                Dy(0) * F(1, c, 3) + Dy(1) * F(1, c, 2) + Dy(2) * F(1, c, 1) + Dy(3) * F(1, c, 0) +
                Dy(4) * F(2, c, 3) + Dy(5) * F(2, c, 2) + Dy(6) * F(2, c, 1) + Dy(7) * F(2, c, 0),
                $"dx{o + 4} = dy0 f3^1 + dy1 f2^1 + dy2 f1^1 + dy3 f0^1 + (filter 2) (channel {c})");
            Check(dw[Fi(1, c, 0)], Dy(0) * X(o + 0) + Dy(1) * X(o + 1) + Dy(2) * X(o + 3) + Dy(3) * X(o + 4), $"df0 (channel {c})");
            Check(dw[Fi(1, c, 1)], Dy(0) * X(o + 1) + Dy(1) * X(o + 2) + Dy(2) * X(o + 4) + Dy(3) * X(o + 5), $"df1 (channel {c})");
            Check(dw[Fi(1, c, 2)], Dy(0) * X(o + 3) + Dy(1) * X(o + 4) + Dy(2) * X(o + 6) + Dy(3) * X(o + 7), $"df2 (channel {c})");
            Check(dw[Fi(1, c, 3)], Dy(0) * X(o + 4) + Dy(1) * X(o + 5) + Dy(2) * X(o + 7) + Dy(3) * X(o + 8), $"df3 (channel {c})");
        }
        Check(db[0], Dy(0) + Dy(1) + Dy(2) + Dy(3), "db^1 = sum of dY over filter 1");
        Check(db[1], Dy(4) + Dy(5) + Dy(6) + Dy(7), "db^2 = sum of dY over filter 2");
    }

    // ------------------------------------------------------------------ §4

    [Fact]
    public void S4_OneDimensionalCaseAsA1xWConvolution()
    {
        var g = new Conv2dSpec(1, 2).Resolve(TensorShape.Nchw(1, 1, 1, 4), 1);
        Assert.Equal((1, 3), (g.OH, g.OW));
        float[] x = Rng.Uniform(4), w = Rng.Uniform(2), b = Rng.Uniform(1), dy = Rng.Uniform(3);
        double x1 = x[0], x2 = x[1], x3 = x[2], x4 = x[3], w1 = w[0], w2 = w[1], dy1 = dy[0], dy2 = dy[1], dy3 = dy[2];
        var res = RunOn(B, (be, r) =>
        {
            var xi = In(be, x, g.InputShape); var wi = In(be, w, g.WeightShape); var dyi = In(be, dy, g.OutputShape);
            var y = Out(be, g.OutputShape); var dx = Out(be, g.InputShape); var dw = Out(be, g.WeightShape); var db = Out(be, g.BiasShape);
            be.Conv2dForward(xi, wi, In(be, b, g.BiasShape), y, g);
            be.Conv2dBackwardData(dyi, wi, dx, g);
            be.Conv2dBackwardWeights(xi, dyi, dw, g, accumulate: false);
            be.BiasGradient(dyi, db, accumulate: false);
            r.Add("y", y, OpKind.Matmul).Add("dx", dx, OpKind.Matmul).Add("dw", dw, OpKind.Matmul).Add("db", db, OpKind.Pointwise);
        });
        var tol = Under.VsFloat64(OpKind.Matmul);
        TensorAssert.Close(res["y"].Floats!, [w1 * x1 + w2 * x2 + b[0], w1 * x2 + w2 * x3 + b[0], w1 * x3 + w2 * x4 + b[0]], tol, null, Rng.Label("§4 y_i = w1 x_i + w2 x_i+1 + b"));
        TensorAssert.Close(res["db"].Floats!, [dy1 + dy2 + dy3], tol, null, Rng.Label("§4 db"));
        TensorAssert.Close(res["dw"].Floats!, [x1 * dy1 + x2 * dy2 + x3 * dy3, x2 * dy1 + x3 * dy2 + x4 * dy3], tol, null, Rng.Label("§4 dw1, dw2"));
        // dx = [0, dy1, dy2, dy3, 0] correlated with [w2, w1].
        TensorAssert.Close(res["dx"].Floats!, [w1 * dy1, w2 * dy1 + w1 * dy2, w2 * dy2 + w1 * dy3, w2 * dy3], tol, null, Rng.Label("§4 dx"));
    }

    // ------------------------------------------------------------------ §5-§8 pooling

    private OpResult MaxPool(float[] x, Pool2dGeometry g, float[]? dy = null) => RunOn(B, (b, r) =>
    {
        var y = Out(b, g.OutputShape);
        var arg = Out(b, g.OutputShape, DataType.Int32);
        b.MaxPool2dForward(In(b, x, g.InputShape), y, arg, g);
        r.Add("y", y, OpKind.Exact).Add("argmax", arg, OpKind.Exact);
        if (dy is null) return;
        var dx = Out(b, g.InputShape);
        b.MaxPool2dBackward(In(b, dy, g.OutputShape), arg, dx, g);
        r.Add("dx", dx, OpKind.Pointwise);
    });

    private OpResult AvgPool(float[] x, Pool2dGeometry g, float[] dy) => RunOn(B, (b, r) =>
    {
        var y = Out(b, g.OutputShape);
        b.AvgPool2dForward(In(b, x, g.InputShape), y, g);
        var dx = Out(b, g.InputShape);
        b.AvgPool2dBackward(In(b, dy, g.OutputShape), dx, g);
        r.Add("y", y, OpKind.Pointwise).Add("dx", dx, OpKind.Pointwise);
    });

    private static Pool2dGeometry Pool(int size, int k, int s) => Pool2dSpec.Square(k, s).Resolve(TensorShape.Nchw(1, 1, size, size));

    [Fact]
    public void S5_MaxPool6x6()
    {
        float[] x = [4, 1, 1, 3, 3, 4, 8, 6, 0, 5, 2, 2, 0, 6, 9, 5, 1, 8, 4, 8, 5, 7, 4, 2, 9, 8, 5, 9, 3, 0, 3, 6, 7, 4, 7, 5];
        var g = Pool(6, 2, 2);
        double[] expected = [8, 5, 4, 8, 9, 8, 9, 9, 7];
        TensorAssert.Equal(MaxPool(x, g)["y"].Floats!, expected, g.OutputShape, "§5 6x6 max pool");
        TensorAssert.Equal(PoolReference.MaxForward(D(x), g).Y.Select(v => (float)v).ToArray(), expected, g.OutputShape, "§5 reference");
    }

    [Fact]
    public void S5_MaxPool4x4AndItsMask()
    {
        float[] x = [4, 1, 3, 3, 8, 6, 5, 2, 9, 8, 9, 3, 3, 6, 4, 7];
        var g = Pool(4, 2, 2);
        float[] dy = Rng.Uniform(4);
        var res = MaxPool(x, g, dy);
        TensorAssert.Equal(res["y"].Floats!, [8.0, 5, 9, 9], g.OutputShape, "§5 4x4 max pool");
        TensorAssert.Equal(res["argmax"].Ints!, [4, 6, 8, 10], g.OutputShape, "§5 mask (row-major NCHW indices)");
        TensorAssert.Equal(PoolReference.MaxForward(D(x), g).Argmax, [4, 6, 8, 10], g.OutputShape, "§5 reference mask");
        // The notes' column-major mask [1, 2, 9, 10] in output order y0=(0,0), y1=(1,0), y2=(0,1), y3=(1,1).
        int[] notes = [1, 2, 9, 10];
        int[] colMajorOut = [0, 2, 1, 3];
        var mask = res["argmax"].Ints!;
        for (int i = 0; i < 4; i++)
        {
            int rowMajor = mask[colMajorOut[i]];
            Assert.Equal(notes[i], (rowMajor % 4) * 4 + rowMajor / 4);
        }
        // Backward puts each dy at its mask position and zero everywhere else.
        var dx = new double[16];
        int[] at = [4, 6, 8, 10];
        for (int i = 0; i < 4; i++) dx[at[i]] = dy[i];
        TensorAssert.Equal(res["dx"].Floats!, dx, g.InputShape, "§5 backward scatters dy to the mask");
    }

    private static readonly float[] S6Input = [8, 4, 0, 1, 1, 4, 0, 2, 1, 2, 1, 0, 0, 1, 3, 2];
    private static readonly float[] S6Dy = [2, 8, 4, 6];

    [Fact]
    public void S6_MaxPoolBackward()
    {
        var g = Pool(4, 2, 2);
        var res = MaxPool(S6Input, g, S6Dy);
        TensorAssert.Equal(res["y"].Floats!, [8.0, 2, 2, 3], g.OutputShape, "§6 forward max");
        double[] expected = [2, 0, 0, 0, 0, 0, 0, 8, 0, 4, 0, 0, 0, 0, 6, 0];
        TensorAssert.Equal(res["dx"].Floats!, expected, g.InputShape, "§6 max backward");
        TensorAssert.Close(PoolReference.MaxBackward(D(S6Dy), PoolReference.MaxForward(D(S6Input), g).Argmax, g), expected, Float64, g.InputShape, "§6 reference");
    }

    [Fact]
    public void S6_AvgPoolBackward()
    {
        var g = Pool(4, 2, 2);
        double[] expected = [0.5, 0.5, 2, 2, 0.5, 0.5, 2, 2, 1, 1, 1.5, 1.5, 1, 1, 1.5, 1.5];
        TensorAssert.Close(AvgPool(S6Input, g, S6Dy)["dx"].Floats!, expected, Rounding, g.InputShape, "§6 avg backward");
        TensorAssert.Close(PoolReference.AvgBackward(D(S6Dy), g), expected, Float64, g.InputShape, "§6 reference");
    }

    [Fact]
    public void S7_AverageVersusMaxPooling()
    {
        float[] x = [3, 4, 5, 6, 5, 4, 5, 4, 3, 3, 2, 1, 1, 3, 2, 4, 6, 2, 3, 7, 8, 5, 1, 2, 0, 3, 7, 8, 1, 3, 2, 7, 8, 3, 4, 0];
        var g = Pool(6, 2, 2);
        double[] avg = [4, 4.25, 3, 3.5, 4.75, 2.75, 3, 6.5, 2];
        double[] max = [5, 6, 5, 7, 8, 6, 7, 8, 4]; // the OCR'd slide shows a 3 where the 6 is
        TensorAssert.Close(AvgPool(x, g, Rng.Uniform(9))["y"].Floats!, avg, Rounding, g.OutputShape, "§7 avg");
        TensorAssert.Equal(MaxPool(x, g)["y"].Floats!, max, g.OutputShape, "§7 max");
        TensorAssert.Close(PoolReference.AvgForward(D(x), g), avg, Float64, g.OutputShape, "§7 reference avg");
        TensorAssert.Close(PoolReference.MaxForward(D(x), g).Y, max, Float64, g.OutputShape, "§7 reference max");
    }

    [Fact]
    public void S8_OverlappingAverageWindowsAccumulate()
    {
        var g = Pool(5, 3, 2);
        Assert.Equal((2, 2), (g.OH, g.OW));
        float[] dz = Rng.Uniform(4);
        var dx = AvgPool(Rng.Uniform(25), g, dz)["dx"].Floats!;
        double dz11 = dz[0], dz12 = dz[1];
        TensorAssert.Close([dx[0]], [dz11 / 9], Tolerance.Float32VsFloat64, null, Rng.Label("§8 da11 = dz11/9"));
        TensorAssert.Close([dx[2]], [(dz11 + dz12) / 9], Tolerance.Float32VsFloat64, null, Rng.Label("§8 da13 = (dz11 + dz12)/9"));
    }

    [Fact]
    public void S8_OverlappingMaxWindowsAccumulate()
    {
        // 3x3 input whose centre is the maximum of all four 2x2 windows at stride 1.
        var g = Pool(3, 2, 1);
        float[] x = [0.1f, 0.2f, 0.3f, 0.4f, 9f, 0.5f, 0.6f, 0.7f, 0.8f];
        float[] dy = Rng.Uniform(4);
        var res = MaxPool(x, g, dy);
        TensorAssert.Equal(res["argmax"].Ints!, [4, 4, 4, 4], g.OutputShape, "§8 every window picks the centre");
        var expected = new double[9];
        expected[4] = (double)dy[0] + dy[1] + dy[2] + dy[3];
        TensorAssert.Close(res["dx"].Floats!, expected, Tolerance.Float32VsFloat64, g.InputShape, Rng.Label("§8 max backward accumulates (+=)"));
    }
}
