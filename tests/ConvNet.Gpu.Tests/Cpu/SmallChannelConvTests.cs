using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

using static ConvNet.Gpu.Tests.Cpu.CpuConvHelpers;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The direct small-channel convolutions (LeNet C1/C3-sized layers) against the float64 direct-loop reference and the
/// im2col + GEMM path, for every pass, over strides, dilation, asymmetric padding and ragged pixel blocks; bitwise
/// identical for 1 and 2 threads (forward, backward-data) and for repeated calls (backward-weights), plus gradient checks.
/// </summary>
public sealed class SmallChannelConvTests
{
    private static readonly Dictionary<string, (int N, int C, int H, int W, int K, Conv2dSpec Spec)> Geometries = new()
    {
        ["lenet C1 (1 -> 6, 5x5 pad 2)"] = (3, 1, 28, 28, 6, Conv2dSpec.Square(5, padding: 2)),
        ["lenet C3 (6 -> 16, 5x5)"] = (5, 6, 14, 14, 16, Conv2dSpec.Square(5)),
        ["3x3 pad 1, 4 -> 8, ragged blocks"] = (2, 4, 9, 31, 8, Conv2dSpec.Square(3, padding: 1)),
        ["3x3 pad 1, 8 -> 6 (direct backward-data)"] = (2, 8, 9, 30, 6, Conv2dSpec.Square(3, padding: 1)),
        ["odd K, stride 2, asymmetric pad"] = (3, 2, 11, 17, 5, new Conv2dSpec(3, 3, 2, 2, Padding2d.Explicit(1, 0, 2, 1))),
        ["dilation 2 pad 2, 5 -> 12"] = (2, 5, 12, 20, 12, new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2)),
        ["pixel lanes: 7 segments, 13 channels in two blocks"] = (1, 2, 5, 200, 13, Conv2dSpec.Square(3, padding: 1)),
        ["batch 1, 8 -> 16, 2x3"] = (1, 8, 7, 9, 16, new Conv2dSpec(2, 3, padding: Padding2d.Explicit(0, 1, 2, 0))),
    };

    public static TheoryData<string> Names() => new(Geometries.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryPassMatchesFloat64ReferenceAndIm2Col(string name)
    {
        var (n, c, h, w, k, spec) = Geometries[name];
        var g = spec.Resolve(TensorShape.Nchw(n, c, h, w), k);
        var rng = new TestRng(name.Length * 7 + k);
        float[] x = rng.Uniform(g.InputShape.ElementCount), wt = rng.Uniform(g.WeightShape.ElementCount), b = rng.Uniform(g.K);
        float[] dy = rng.Uniform(g.OutputShape.ElementCount);
        using var one = new CpuBackend(1);
        using var two = new CpuBackend(2);
        using var gemm = new CpuBackend(2) { ForcedConvAlgorithm = CpuConvAlgorithm.Im2ColGemm };
        var passes = new[] { CpuConvPass.Forward, CpuConvPass.BackwardData, CpuConvPass.BackwardWeights };
        bool[] direct = passes.Select(p => one.ChooseConvAlgorithm(g, p).Algorithm == CpuConvAlgorithm.DirectSmallChannel).ToArray();
        Assert.True(direct[0], $"{name}: forward should run the direct kernel, got {one.ChooseConvAlgorithm(g, CpuConvPass.Forward)}");

        var (y1, dx1, dw1) = RunPasses(one, g, x, wt, b, dy);
        var (y2, dx2, dw2) = RunPasses(two, g, x, wt, b, dy);
        var (yg, dxg, dwg) = RunPasses(gemm, g, x, wt, b, dy);
        Assert.Equal(y1, y2);
        Assert.Equal(dx1, dx2);
        int taps = g.C * g.KH * g.KW;
        Close(ConvReference.Forward(D(x), D(wt), D(b), g), y1, taps, $"{name} forward");
        Close(Array.ConvertAll(yg, v => (double)v), y1, 2 * taps, $"{name} forward vs im2col");
        Close(ConvReference.BackwardData(D(dy), D(wt), g), dx1, g.K * g.KH * g.KW, $"{name} backward-data");
        Close(Array.ConvertAll(dxg, v => (double)v), dx1, 2 * g.K * g.KH * g.KW, $"{name} backward-data vs im2col");
        double[] dwRef = ConvReference.BackwardWeights(D(x), D(dy), g);
        Close(dwRef, dw1, g.N * g.OutputPlane, $"{name} backward-weights (1 thread)");
        Close(dwRef, dw2, g.N * g.OutputPlane, $"{name} backward-weights (2 threads)");
        Close(Array.ConvertAll(dwg, v => (double)v), dw2, 2 * g.N * g.OutputPlane, $"{name} backward-weights vs im2col");

        // Backward-weights: same bits on a repeat, and accumulate adds onto what is there.
        using Tensor tx = Up(two, g.InputShape, x), tdy = Up(two, g.OutputShape, dy), tdw = Up(two, g.WeightShape, dw2);
        two.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: true);
        Close(dwRef.Select(v => 2 * v).ToArray(), tdw.ToArray(), 2 * g.N * g.OutputPlane, $"{name} backward-weights accumulate");
        two.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
        Assert.Equal(dw2, tdw.ToArray());
    }

    [Theory]
    [InlineData(1, 5, 2, 9)]  // channel lanes: forward and backward-weights direct (backward-data has one lane)
    [InlineData(1, 5, 2, 30)] // pixel lanes (C1-like): forward and backward-weights
    [InlineData(8, 3, 1, 9)]  // forward and backward-data direct (72 taps: backward-weights goes through im2col)
    public void GradientChecksOfDirectPasses(int c, int kernel, int pad, int width)
    {
        var rng = new TestRng(9 + c + width);
        var g = Conv2dSpec.Square(kernel, padding: pad).Resolve(TensorShape.Nchw(2, c, 7, width), 6);
        using var backend = new CpuBackend(2);
        Assert.Equal(CpuConvAlgorithm.DirectSmallChannel, backend.ChooseConvAlgorithm(g, CpuConvPass.Forward).Algorithm);
        var checkedPass = c == 1 ? CpuConvPass.BackwardWeights : CpuConvPass.BackwardData;
        Assert.Equal(CpuConvAlgorithm.DirectSmallChannel, backend.ChooseConvAlgorithm(g, checkedPass).Algorithm);
        float[] x = rng.Uniform(g.InputShape.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount), b = rng.Uniform(g.K);
        float[] gf = rng.Uniform(g.OutputShape.ElementCount);
        double[] gd = Array.ConvertAll(gf, v => (double)v);
        using Tensor xt = Up(backend, g.InputShape, x), wt = Up(backend, g.WeightShape, w), bt = Up(backend, g.BiasShape, b);
        using Tensor yt = backend.Allocate(g.OutputShape), gt = Up(backend, g.OutputShape, gf);
        using Tensor dx = backend.Allocate(g.InputShape), dw = backend.Allocate(g.WeightShape);
        backend.Conv2dBackwardData(gt, wt, dx, g);
        backend.Conv2dBackwardWeights(xt, gt, dw, g, accumulate: false);
        float[] Y() { backend.Conv2dForward(xt, wt, bt, yt, g); return yt.ToArray(); }
        GradientCheck.Float32($"direct {g} dX", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd, GradientCheck.Settings.ConvDense, g.InputShape);
        xt.Upload(x);
        GradientCheck.Float32($"direct {g} dW", w, v => { wt.Upload(v); return Y(); }, dw.ToArray(), gd, GradientCheck.Settings.ConvDense, g.WeightShape);
    }
}
