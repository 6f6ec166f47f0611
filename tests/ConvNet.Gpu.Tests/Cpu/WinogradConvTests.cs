using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// Winograd F(2x2, 3x3) forward and backward-data on the CPU backend against the float64 direct-loop reference, with the
/// tolerance derived for the transform (docs/cpu-convolution.md, "Winograd error bound"): per output element,
/// |y - y_exact| &lt;= γ(C + 11) · S where S = |A^T| (Σ_c |G||g_c||G^T| ⊙ |B^T||d_c||B|) |A| + |bias| is computed here in
/// float64 from the same tiles the kernel uses. Also: against the im2col + GEMM path, bit-identical for 1 and 2 threads,
/// gradient checks of the Winograd passes, and the choice itself.
/// </summary>
public sealed class WinogradConvTests
{
    private static readonly Dictionary<string, (int N, int C, int H, int W, int K, Conv2dSpec Spec)> Geometries = new()
    {
        ["pad 1 even width"] = (2, 5, 9, 40, 7, Conv2dSpec.Square(3, padding: 1)),
        ["pad 1 odd width and height"] = (3, 4, 7, 37, 6, Conv2dSpec.Square(3, padding: 1)),
        ["valid (pad 0)"] = (2, 3, 8, 36, 4, Conv2dSpec.Square(3)),
        ["pad 2"] = (1, 3, 5, 33, 5, Conv2dSpec.Square(3, padding: 2)),
        ["asymmetric pad"] = (2, 4, 9, 45, 3, new Conv2dSpec(3, 3, 1, 1, Padding2d.Explicit(2, 0, 1, 2))),
        ["several tile-row blocks (many channels)"] = (1, 96, 6, 70, 80, Conv2dSpec.Square(3, padding: 1)),
        ["dilation 2 pad 2"] = (2, 3, 10, 66, 4, new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2)),
        ["dilation 2 odd sizes"] = (1, 2, 11, 67, 3, new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2)),
        ["dilation 3 pad 0"] = (1, 2, 12, 105, 3, new Conv2dSpec(3, 3, dilationH: 3, dilationW: 3)),
        ["narrow rows: 14 wide (7 tiles per row, VGG block 2)"] = (2, 6, 14, 14, 5, Conv2dSpec.Square(3, padding: 1)),
        ["narrow rows: 28 wide, blocks of tile rows"] = (1, 40, 28, 28, 48, Conv2dSpec.Square(3, padding: 1)),
        ["narrow and odd: 5 wide, pad 0"] = (3, 3, 6, 7, 4, Conv2dSpec.Square(3)),
        ["dilation 2, phases of 1 and 2 columns"] = (1, 2, 7, 5, 3, new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2)),
    };

    public static TheoryData<string> Names() => new(Geometries.Keys);

    private const double U = 1.0 / (1 << 24);

    private static double Gamma(int n) => n * U / (1 - n * U);

    [Theory]
    [MemberData(nameof(Names))]
    public void ForwardWithinDerivedBoundOfFloat64Reference(string name)
    {
        var (g, x, w, b, _) = Setup(name);
        Assert.Equal(CpuConvAlgorithm.WinogradF2x3, Forced(1).ChooseConvAlgorithm(g, CpuConvPass.Forward).Algorithm);
        float[] y1 = Forward(Forced(1), g, x, w, b), y2 = Forward(Forced(2), g, x, w, b);
        Assert.Equal(y1, y2); // bitwise, whatever the thread count
        double[] exact = ConvReference.Forward(D(x), D(w), D(b), g);
        double[] bound = Bound(g, x, w, b, backwardData: false);
        AssertWithin(exact, y1, bound, $"{name} forward");
        // Against the im2col path: within the Winograd bound plus the direct sum's γ(9C + 1) Σ|w||x| + |b|.
        var im2col = new CpuBackend(2) { ForcedConvAlgorithm = CpuConvAlgorithm.Im2ColGemm };
        float[] viaGemm = Forward(im2col, g, x, w, b);
        double[] direct = ConvReference.Forward(Abs(x), Abs(w), Abs(b), g);
        AssertWithin(Array.ConvertAll(viaGemm, v => (double)v), y1,
            bound.Select((v, i) => v + Gamma(9 * g.C + 1) * direct[i]).ToArray(), $"{name} forward vs im2col");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void BackwardDataWithinDerivedBoundOfFloat64Reference(string name)
    {
        var (g, _, w, _, dy) = Setup(name);
        Assert.Equal(CpuConvAlgorithm.WinogradF2x3, Forced(1).ChooseConvAlgorithm(g, CpuConvPass.BackwardData).Algorithm);
        float[] dx1 = BackwardData(Forced(1), g, dy, w), dx2 = BackwardData(Forced(2), g, dy, w);
        Assert.Equal(dx1, dx2);
        AssertWithin(ConvReference.BackwardData(D(dy), D(w), g), dx1, Bound(g, dy, w, null, backwardData: true), $"{name} backward-data");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void BackwardWeightsWithinDerivedBoundOfFloat64Reference(string name)
    {
        var (g, x, _, _, dy) = Setup(name);
        Assert.Equal(CpuConvAlgorithm.WinogradF2x3, Forced(1).ChooseConvAlgorithm(g, CpuConvPass.BackwardWeights).Algorithm);
        float[] dw1 = BackwardWeights(Forced(1), g, x, dy, out float[] again1), dw2 = BackwardWeights(Forced(2), g, x, dy, out float[] again2);
        Assert.Equal(dw1, again1); // same bits on a repeat (fixed chunks, fixed order)
        Assert.Equal(dw2, again2);
        double[] exact = ConvReference.BackwardWeights(D(x), D(dy), g);
        double[] bound = WeightBound(g, x, dy);
        AssertWithin(exact, dw1, bound, $"{name} backward-weights, 1 thread");
        AssertWithin(exact, dw2, bound, $"{name} backward-weights, 2 threads");
    }

    [Fact]
    public void GradientChecksOfWinogradPasses()
    {
        var rng = new TestRng(5);
        foreach (var spec in new[] { Conv2dSpec.Square(3, padding: 1), new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2) })
        {
            var g = spec.Resolve(TensorShape.Nchw(1, 2, 4, 66), 2);
            using var backend = Forced(2);
            float[] x = rng.Uniform(g.InputShape.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount);
            float[] gf = rng.Uniform(g.OutputShape.ElementCount);
            double[] gd = Array.ConvertAll(gf, v => (double)v);
            using Tensor xt = Up(backend, g.InputShape, x), wt = Up(backend, g.WeightShape, w), yt = backend.Allocate(g.OutputShape);
            using Tensor gt = Up(backend, g.OutputShape, gf), dx = backend.Allocate(g.InputShape);
            using Tensor dw = backend.Allocate(g.WeightShape);
            backend.Conv2dBackwardData(gt, wt, dx, g);
            backend.Conv2dBackwardWeights(xt, gt, dw, g, accumulate: false);
            float[] Y() { backend.Conv2dForward(xt, wt, null, yt, g); return yt.ToArray(); }
            GradientCheck.Float32($"winograd {g} dX", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd,
                GradientCheck.Settings.ConvDense, g.InputShape);
            xt.Upload(x);
            GradientCheck.Float32($"winograd {g} dW", w, v => { wt.Upload(v); return Y(); }, dw.ToArray(), gd,
                GradientCheck.Settings.ConvDense, g.WeightShape);
        }
    }

    [Fact]
    public void ChoiceIsVisibleAndExplainsFallbacks()
    {
        using var cpu = new CpuBackend(2);
        var resnet = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(8, 64, 56, 56), 64);
        var wide5x5 = Conv2dSpec.Square(5, padding: 2).Resolve(TensorShape.Nchw(8, 32, 40, 40), 32);
        var strided = Conv2dSpec.Square(3, stride: 2, padding: 1).Resolve(TensorShape.Nchw(8, 64, 56, 56), 128);
        var vgg = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(64, 64, 14, 14), 64);
        bool avx512 = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        Assert.Equal(avx512 ? CpuConvAlgorithm.WinogradF2x3 : CpuConvAlgorithm.Im2ColGemm, cpu.ChooseConvAlgorithm(resnet, CpuConvPass.Forward).Algorithm);
        Assert.Equal(avx512 ? CpuConvAlgorithm.WinogradF2x3 : CpuConvAlgorithm.Im2ColGemm, cpu.ChooseConvAlgorithm(vgg, CpuConvPass.Forward).Algorithm);
        Assert.Equal(avx512 ? CpuConvAlgorithm.WinogradF2x3 : CpuConvAlgorithm.Im2ColGemm, cpu.ChooseConvAlgorithm(resnet, CpuConvPass.BackwardWeights).Algorithm);
        // No Winograd for stride 2 or 5x5: the implicit GEMM where AVX-512 runs it, else im2col + GEMM.
        var noWinograd = avx512 ? CpuConvAlgorithm.ImplicitGemm : CpuConvAlgorithm.Im2ColGemm;
        Assert.Equal(noWinograd, cpu.ChooseConvAlgorithm(strided, CpuConvPass.BackwardWeights).Algorithm);
        var c = cpu.ChooseConvAlgorithm(wide5x5, CpuConvPass.Forward);
        Assert.Equal(noWinograd, c.Algorithm);
        Assert.Contains(avx512 ? "5x5" : "AVX-512", c.Reason);
        Assert.Contains(avx512 ? "stride 2x2" : "AVX-512", cpu.ChooseConvAlgorithm(strided, CpuConvPass.BackwardData).Reason);
    }

    // ------------------------------------------------------------ the bound

    /// <summary>
    /// γ(cin + 11) · (S + |bias|) per output element of the pass (forward: x and w; backward-data: dY and the flipped,
    /// transposed w, read through the same phase and tile decomposition as the kernel).
    /// </summary>
    private static double[] Bound(Conv2dGeometry g, float[] src, float[] w, float[]? bias, bool backwardData)
    {
        int d = g.DH;
        int cin = backwardData ? g.K : g.C, cout = backwardData ? g.C : g.K;
        int inH = backwardData ? g.OH : g.H, inW = backwardData ? g.OW : g.W;
        int outH = backwardData ? g.H : g.OH, outW = backwardData ? g.W : g.OW;
        int padT = backwardData ? 2 - g.PadTop / d : g.PadTop / d, padL = backwardData ? 2 - g.PadLeft / d : g.PadLeft / d;
        double[,] bT = { { 1, 0, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 0, 1 } };          // |B^T|
        double[,] gm = { { 1, 0, 0 }, { .5, .5, .5 }, { .5, .5, .5 }, { 0, 0, 1 } };                  // |G|
        double[,] aT = { { 1, 1, 1, 0 }, { 0, 1, 1, 1 } };                                            // |A^T|
        var result = new double[g.N * cout * outH * outW];
        double gamma = Gamma(cin + 11);
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < cout; o++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        int p = oy % d, q = ox % d, a = oy / d, bcol = ox / d;
                        int th = a / 2, tw = bcol / 2, ry = a % 2, rx = bcol % 2;
                        var prod = new double[4, 4];
                        for (int c = 0; c < cin; c++)
                        {
                            var dp = new double[4, 4];
                            for (int i = 0; i < 4; i++)
                                for (int j = 0; j < 4; j++)
                                {
                                    int vi = 2 * th - padT + i, vj = 2 * tw - padL + j;
                                    int iy = vi * d + p, ix = vj * d + q;
                                    bool inside = vi >= 0 && vj >= 0 && iy < inH && ix < inW;
                                    dp[i, j] = inside ? Math.Abs(src[((n * cin + c) * inH + iy) * inW + ix]) : 0;
                                }
                            var f = new double[3, 3];
                            for (int r = 0; r < 3; r++)
                                for (int s = 0; s < 3; s++)
                                    f[r, s] = Math.Abs(backwardData ? w[((c * g.C + o) * 3 + 2 - r) * 3 + 2 - s] : w[((o * g.C + c) * 3 + r) * 3 + s]);
                            var v = Sandwich(bT, dp);
                            var u = Sandwich(gm, f);
                            for (int i = 0; i < 4; i++)
                                for (int j = 0; j < 4; j++) prod[i, j] += u[i, j] * v[i, j];
                        }
                        double s2 = 0;
                        for (int i = 0; i < 4; i++)
                            for (int j = 0; j < 4; j++) s2 += aT[ry, i] * prod[i, j] * aT[rx, j];
                        double bb = bias is null ? 0 : Math.Abs(bias[o]);
                        result[((n * cout + o) * outH + oy) * outW + ox] = gamma * (s2 + bb) + bb * U;
                    }
        return result;
    }

    /// <summary>
    /// The weight-gradient bound: γ(T + 16) · |G^T| (Σ_tiles (|A||y||A^T|) ⊙ (|B^T||d||B|)) |G| per (k, c, r, s), with T
    /// the tiles of the whole batch (the longest possible summation: every tile, then the chunk partials).
    /// </summary>
    private static double[] WeightBound(Conv2dGeometry g, float[] x, float[] dy)
    {
        int d = g.DH, padT = g.PadTop / d, padL = g.PadLeft / d;
        double[,] bT = { { 1, 0, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 0, 1 } };
        double[,] a = { { 1, 0 }, { 1, 1 }, { 1, 1 }, { 0, 1 } };                      // |A|
        double[,] gT = { { 1, .5, .5, 0 }, { 0, .5, .5, 0 }, { 0, .5, .5, 1 } };       // |G^T|
        var result = new double[g.K * g.C * 9];
        int totalTiles = 0;
        for (int p = 0; p < d; p++)
            for (int q = 0; q < d; q++)
                totalTiles += g.N * ((g.OH - p + d - 1) / d + 1) / 2 * (((g.OW - q + d - 1) / d + 1) / 2);
        double gamma = Gamma(totalTiles + 16);
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
            {
                var sum = new double[4, 4];
                for (int n = 0; n < g.N; n++)
                    for (int p = 0; p < d; p++)
                        for (int q = 0; q < d; q++)
                        {
                            int rows = (g.OH - p + d - 1) / d, cols = (g.OW - q + d - 1) / d;
                            for (int th = 0; th < (rows + 1) / 2; th++)
                                for (int tw = 0; tw < (cols + 1) / 2; tw++)
                                {
                                    var y = new double[2, 2];
                                    for (int i = 0; i < 2; i++)
                                        for (int j = 0; j < 2; j++)
                                        {
                                            int vi = 2 * th + i, vj = 2 * tw + j;
                                            y[i, j] = vi < rows && vj < cols ? Math.Abs(dy[((n * g.K + k) * g.OH + vi * d + p) * g.OW + vj * d + q]) : 0;
                                        }
                                    var dp = new double[4, 4];
                                    for (int i = 0; i < 4; i++)
                                        for (int j = 0; j < 4; j++)
                                        {
                                            int vi = 2 * th - padT + i, vj = 2 * tw - padL + j, iy = vi * d + p, ix = vj * d + q;
                                            dp[i, j] = vi >= 0 && vj >= 0 && iy < g.H && ix < g.W ? Math.Abs(x[((n * g.C + c) * g.H + iy) * g.W + ix]) : 0;
                                        }
                                    var u = Sandwich(a, y);
                                    var v = Sandwich(bT, dp);
                                    for (int i = 0; i < 4; i++)
                                        for (int j = 0; j < 4; j++) sum[i, j] += u[i, j] * v[i, j];
                                }
                        }
                var s3 = Sandwich(gT, sum);
                for (int r = 0; r < 3; r++)
                    for (int s = 0; s < 3; s++) result[((k * g.C + c) * 3 + r) * 3 + s] = gamma * s3[r, s];
            }
        return result;
    }

    /// <summary>M X M^T for a (r x c) M and (c x c) X.</summary>
    private static double[,] Sandwich(double[,] m, double[,] x)
    {
        int r = m.GetLength(0), c = m.GetLength(1);
        var t = new double[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                for (int k = 0; k < c; k++) t[i, j] += m[i, k] * x[k, j];
        var res = new double[r, r];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < r; j++)
                for (int k = 0; k < c; k++) res[i, j] += t[i, k] * m[j, k];
        return res;
    }

    // ------------------------------------------------------------ helpers

    private static CpuBackend Forced(int threads) => new(threads) { ForcedConvAlgorithm = CpuConvAlgorithm.WinogradF2x3 };

    private static (Conv2dGeometry G, float[] X, float[] W, float[] B, float[] Dy) Setup(string name)
    {
        var (n, c, h, w, k, spec) = Geometries[name];
        var g = spec.Resolve(TensorShape.Nchw(n, c, h, w), k);
        var rng = new TestRng(name.Length * 31 + c);
        return (g, rng.Uniform(g.InputShape.ElementCount), rng.Uniform(g.WeightShape.ElementCount), rng.Uniform(g.K),
            rng.Uniform(g.OutputShape.ElementCount));
    }

    private static float[] Forward(CpuBackend backend, Conv2dGeometry g, float[] x, float[] w, float[] b)
    {
        using (backend)
        {
            using Tensor tx = Up(backend, g.InputShape, x), tw = Up(backend, g.WeightShape, w), tb = Up(backend, g.BiasShape, b);
            using var ty = Up(backend, g.OutputShape, Enumerable.Repeat(float.NaN, (int)g.OutputShape.ElementCount).ToArray());
            backend.Conv2dForward(tx, tw, tb, ty, g);
            return ty.ToArray();
        }
    }

    private static float[] BackwardData(CpuBackend backend, Conv2dGeometry g, float[] dy, float[] w)
    {
        using (backend)
        {
            using Tensor tdy = Up(backend, g.OutputShape, dy), tw = Up(backend, g.WeightShape, w);
            using var tdx = Up(backend, g.InputShape, Enumerable.Repeat(float.NaN, (int)g.InputShape.ElementCount).ToArray());
            backend.Conv2dBackwardData(tdy, tw, tdx, g);
            return tdx.ToArray();
        }
    }

    private static float[] BackwardWeights(CpuBackend backend, Conv2dGeometry g, float[] x, float[] dy, out float[] again)
    {
        using (backend)
        {
            using Tensor tx = Up(backend, g.InputShape, x), tdy = Up(backend, g.OutputShape, dy);
            using var tdw = Up(backend, g.WeightShape, Enumerable.Repeat(float.NaN, (int)g.WeightShape.ElementCount).ToArray());
            backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
            float[] once = tdw.ToArray();
            backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
            again = tdw.ToArray();
            return once;
        }
    }

    private static Tensor Up(IBackend backend, TensorShape shape, float[] data)
    {
        var t = backend.Allocate(shape);
        t.Upload(data);
        return t;
    }

    private static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);
    private static double[] Abs(float[] a) => Array.ConvertAll(a, v => Math.Abs((double)v));

    private static void AssertWithin(double[] expected, float[] actual, double[] bound, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= bound[i],
                $"{what}: element {i} = {actual[i]:R}, expected {expected[i]:R}, error {Math.Abs(actual[i] - expected[i]):E3} above the bound {bound[i]:E3}");
    }
}
