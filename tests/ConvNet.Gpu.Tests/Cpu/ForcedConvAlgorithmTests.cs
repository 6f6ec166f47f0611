using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The CPU convolution algorithms added for issue 18's last rows (implicit GEMM for forward and weight gradient, the
/// pixel-lane backward-data of the direct small-channel family), forced over the whole conv shape table
/// (<see cref="ConvCases"/>) plus shapes that reach their blocking edges: every pass the forced algorithm runs is
/// compared with the float64 direct-loop reference and with the im2col + GEMM path; forward and backward-data must be
/// bitwise identical for 1 and 2 threads, the weight gradient bitwise identical on a repeat and correct when
/// accumulating; gradient checks run the forced passes on the gradient subset of the table.
/// </summary>
public sealed class ForcedConvAlgorithmTests
{
    /// <summary>Shapes beyond the shared table: several 32-channel panels and a 16-lane last panel, ragged pixel and tap blocks, bands.</summary>
    private static readonly ConvCases.Case[] Extra =
    [
        new("resnet_s2_small_C20_K40", 2, 20, 13, 15, 40, Conv2dSpec.Square(3, stride: 2, padding: 1)),
        new("s1_C9_K70_three_panels", 3, 9, 9, 31, 70, Conv2dSpec.Square(3, padding: 1)),
        new("s2_C33_K48_wide_rows", 1, 33, 9, 61, 48, Conv2dSpec.Square(3, stride: 2, padding: 1)),
        new("s2_5x5_asym_pad_K16", 5, 4, 11, 12, 16, new Conv2dSpec(5, 5, 2, 2, Padding2d.Explicit(2, 1, 0, 2))),
        new("s1_dilation2_C6_K33", 2, 6, 10, 17, 33, Conv2dSpec.Square(3, padding: 2, dilation: 2)),
        new("1x1_s2_C64_K36", 3, 64, 7, 9, 36, Conv2dSpec.Square(1, stride: 2)),
        new("s2x1_rect_2x4_C5_K20", 4, 5, 8, 19, 20, new Conv2dSpec(2, 4, 2, 1, Padding2d.Explicit(1, 0, 1, 2))),
        new("many_bands_C48_K32", 2, 48, 40, 30, 32, Conv2dSpec.Square(3, stride: 2, padding: 1)),
        new("lenet_c3_C6_K16", 5, 6, 14, 14, 16, Conv2dSpec.Square(5)),
        new("pixel_rows_C8_K24_two_segments_odd_H", 2, 8, 9, 27, 24, Conv2dSpec.Square(3, padding: 1)),
        new("pixel_rows_C14_dilation2_pad_wider_rows", 1, 14, 8, 40, 5, new Conv2dSpec(3, 3, padding: Padding2d.Explicit(3, 1, 4, 0), dilationH: 2, dilationW: 2)),
    ];

    private static IEnumerable<ConvCases.Case> All => ConvCases.Cases.Concat(Extra);

    public static TheoryData<CpuConvAlgorithm, string> Cases()
    {
        var data = new TheoryData<CpuConvAlgorithm, string>();
        foreach (var algorithm in new[] { CpuConvAlgorithm.ImplicitGemm, CpuConvAlgorithm.DirectSmallChannel })
            foreach (var c in All) data.Add(algorithm, c.Name);
        return data;
    }

    public static TheoryData<CpuConvAlgorithm, string> GradientCases()
    {
        var data = new TheoryData<CpuConvAlgorithm, string>();
        string[] names = [.. ConvCases.GradientNames.Select(row => row.Data), "s2_5x5_asym_pad_K16", "s2x1_rect_2x4_C5_K20"];
        foreach (var algorithm in new[] { CpuConvAlgorithm.ImplicitGemm, CpuConvAlgorithm.DirectSmallChannel })
            foreach (string name in names) data.Add(algorithm, name);
        return data;
    }

    private static ConvCases.Case Get(string name) => All.First(c => c.Name == name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForcedPassesMatchFloat64ReferenceAndIm2ColDeterministically(CpuConvAlgorithm algorithm, string name)
    {
        var g = Get(name).Geometry;
        using var one = new CpuBackend(1) { ForcedConvAlgorithm = algorithm };
        using var two = new CpuBackend(2) { ForcedConvAlgorithm = algorithm };
        using var gemm = new CpuBackend(2) { ForcedConvAlgorithm = CpuConvAlgorithm.Im2ColGemm };
        var passes = new[] { CpuConvPass.Forward, CpuConvPass.BackwardData, CpuConvPass.BackwardWeights };
        bool[] runs = passes.Select(p => two.ChooseConvAlgorithm(g, p).Algorithm == algorithm).ToArray();
        Assert.Equal(runs, passes.Select(p => one.ChooseConvAlgorithm(g, p).Algorithm == algorithm).ToArray());
        if (!runs.Any(r => r)) return; // the algorithm covers no pass of this shape (e.g. groups, depthwise, stride 3)

        var rng = new TestRng(name.Length * 31 + (int)algorithm);
        float[] x = rng.Uniform(g.InputShape.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount), b = rng.Uniform(g.K);
        float[] dy = rng.Uniform(g.OutputShape.ElementCount);
        var (y1, dx1, dw1) = Run(one, g, x, w, b, dy);
        var (y2, dx2, dw2) = Run(two, g, x, w, b, dy);
        var (yg, dxg, dwg) = Run(gemm, g, x, w, b, dy);
        string what = rng.Label($"{algorithm} {name}");
        int taps = g.ColumnRowsPerGroup, pixels = g.N * g.OutputPlane, back = g.KPerGroup * g.KH * g.KW;
        if (runs[0])
        {
            Assert.Equal(y1, y2); // forward bits do not depend on the thread count
            Close(ConvReference.Forward(D(x), D(w), D(b), g), y1, taps, $"{what} forward");
            Close(D(yg), y1, 2 * taps, $"{what} forward vs im2col");
        }
        if (runs[1])
        {
            Assert.Equal(dx1, dx2);
            Close(ConvReference.BackwardData(D(dy), D(w), g), dx1, back, $"{what} backward-data");
            Close(D(dxg), dx1, 2 * back, $"{what} backward-data vs im2col");
        }
        if (runs[2])
        {
            double[] expected = ConvReference.BackwardWeights(D(x), D(dy), g);
            Close(expected, dw1, pixels, $"{what} backward-weights (1 thread)");
            Close(expected, dw2, pixels, $"{what} backward-weights (2 threads)");
            Close(D(dwg), dw2, 2 * pixels, $"{what} backward-weights vs im2col");
            // Same bits on a repeat with the same thread count; accumulate adds onto what is there.
            using Tensor tx = Up(two, g.InputShape, x), tdy = Up(two, g.OutputShape, dy), tdw = Up(two, g.WeightShape, dw2);
            two.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: true);
            Close(expected.Select(v => 2 * v).ToArray(), tdw.ToArray(), 2 * pixels, $"{what} backward-weights accumulate");
            two.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
            Assert.Equal(dw2, tdw.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void GradientChecksOfForcedPasses(CpuConvAlgorithm algorithm, string name)
    {
        var g = Get(name).Geometry;
        using var backend = new CpuBackend(2) { ForcedConvAlgorithm = algorithm };
        var rng = new TestRng(name.Length * 17 + (int)algorithm);
        float[] x = rng.Uniform(g.InputShape.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount), b = rng.Uniform(g.K);
        float[] gf = rng.Uniform(g.OutputShape.ElementCount);
        double[] gd = D(gf);
        using Tensor xt = Up(backend, g.InputShape, x), wt = Up(backend, g.WeightShape, w), bt = Up(backend, g.BiasShape, b);
        using Tensor yt = backend.Allocate(g.OutputShape), gt = Up(backend, g.OutputShape, gf);
        using Tensor dx = backend.Allocate(g.InputShape), dw = backend.Allocate(g.WeightShape);
        backend.Conv2dBackwardData(gt, wt, dx, g);
        backend.Conv2dBackwardWeights(xt, gt, dw, g, accumulate: false);
        float[] Y() { backend.Conv2dForward(xt, wt, bt, yt, g); return yt.ToArray(); }
        string what = rng.Label($"{algorithm} {g}");
        GradientCheck.Float32(what + " dX", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd, GradientCheck.Settings.ConvDense, g.InputShape);
        xt.Upload(x);
        GradientCheck.Float32(what + " dW", w, v => { wt.Upload(v); return Y(); }, dw.ToArray(), gd, GradientCheck.Settings.ConvDense, g.WeightShape);
    }

    [Fact]
    public void ChoiceTakesTheNewKernelsForTheRowsTheyWereBuiltFor()
    {
        using var cpu = new CpuBackend(2);
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            Assert.Equal(CpuConvAlgorithm.Im2ColGemm, cpu.ChooseConvAlgorithm(Geometry(8, 64, 56, 56, 128, Conv2dSpec.Square(3, stride: 2, padding: 1)), CpuConvPass.Forward).Algorithm);
            return;
        }
        var resnetS2 = Geometry(8, 64, 56, 56, 128, Conv2dSpec.Square(3, stride: 2, padding: 1));
        Assert.Equal(CpuConvAlgorithm.ImplicitGemm, cpu.ChooseConvAlgorithm(resnetS2, CpuConvPass.Forward).Algorithm);
        Assert.Equal(CpuConvAlgorithm.ImplicitGemm, cpu.ChooseConvAlgorithm(resnetS2, CpuConvPass.BackwardWeights).Algorithm);
        Assert.Equal(CpuConvAlgorithm.Im2ColGemm, cpu.ChooseConvAlgorithm(resnetS2, CpuConvPass.BackwardData).Algorithm);
        var c3 = Geometry(64, 6, 14, 14, 16, Conv2dSpec.Square(5));
        var choice = cpu.ChooseConvAlgorithm(c3, CpuConvPass.BackwardData);
        Assert.Equal(CpuConvAlgorithm.DirectSmallChannel, choice.Algorithm);
        Assert.Contains("dX pixels of a row", choice.Reason);
        // Few output channels: the implicit GEMM's 32-lane panels would be mostly empty.
        Assert.NotEqual(CpuConvAlgorithm.ImplicitGemm, cpu.ChooseConvAlgorithm(Geometry(4, 64, 20, 20, 8, Conv2dSpec.Square(3, stride: 2)), CpuConvPass.Forward).Algorithm);
    }

    private static Conv2dGeometry Geometry(int n, int c, int h, int w, int k, Conv2dSpec spec) => spec.Resolve(TensorShape.Nchw(n, c, h, w), k);

    private static (float[] Y, float[] Dx, float[] Dw) Run(CpuBackend backend, Conv2dGeometry g, float[] x, float[] w, float[] b, float[] dy)
    {
        float[] nan(TensorShape s) => Enumerable.Repeat(float.NaN, (int)s.ElementCount).ToArray();
        using Tensor tx = Up(backend, g.InputShape, x), tw = Up(backend, g.WeightShape, w), tb = Up(backend, g.BiasShape, b);
        using Tensor tdy = Up(backend, g.OutputShape, dy), ty = Up(backend, g.OutputShape, nan(g.OutputShape));
        using Tensor tdx = Up(backend, g.InputShape, nan(g.InputShape)), tdw = Up(backend, g.WeightShape, nan(g.WeightShape));
        backend.Conv2dForward(tx, tw, tb, ty, g);
        backend.Conv2dBackwardData(tdy, tw, tdx, g);
        backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
        return (ty.ToArray(), tdx.ToArray(), tdw.ToArray());
    }

    private static Tensor Up(IBackend backend, TensorShape shape, float[] data)
    {
        var t = backend.Allocate(shape);
        t.Upload(data);
        return t;
    }

    private static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>|a - e| &lt;= atol + rtol |e| with atol growing like sqrt(reduction length), as in ConvFastPathTests.</summary>
    private static void Close(double[] expected, float[] actual, int reductionLength, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double atol = 1e-5 * Math.Sqrt(reductionLength) + 1e-5, rtol = 1e-4;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}: element {i} = {actual[i]}, expected {expected[i]} (atol {atol:E2})");
    }
}
