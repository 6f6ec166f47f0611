using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int, int, bool, bool> PoolCases => new()
    {
        // n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, includePad
        { 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, false, true },
        { 2, 2, 7, 9, 3, 3, 2, 2, 1, 1, false, true },
        { 1, 2, 6, 5, 3, 3, 1, 1, 1, 1, false, false },
        { 2, 1, 8, 7, 3, 2, 2, 1, 1, 0, true, true },
        { 2, 1, 8, 7, 3, 2, 2, 1, 1, 0, true, false },
        { 1, 3, 8, 8, 3, 3, 2, 2, 0, 0, true, true },
        { 1, 1, 5, 5, 5, 5, 1, 1, 2, 2, false, true },
        { 1, 1, 9, 9, 4, 4, 3, 3, 2, 2, true, true },
        { 8, 16, 32, 32, 2, 2, 2, 2, 0, 0, false, true },
        { 4, 8, 33, 31, 3, 3, 2, 2, 1, 1, true, false },
        // Disjoint windows (stride >= kernel) leaving rows/columns uncovered, and 2x2 rows not a multiple of 8 windows.
        { 2, 3, 21, 37, 2, 2, 2, 2, 0, 0, false, true },
        { 2, 3, 21, 37, 2, 2, 2, 2, 0, 0, true, true },
        { 1, 2, 11, 10, 2, 2, 3, 3, 0, 0, false, true },
        { 1, 2, 10, 11, 3, 3, 3, 3, 1, 1, true, false },
        { 1, 2, 10, 11, 3, 3, 3, 3, 1, 1, true, true },
        // Eight-window vector blocks with horizontal strides 1, 2 and 3, with and without padding.
        { 2, 2, 12, 30, 3, 3, 1, 1, 1, 1, false, true },
        { 1, 2, 10, 50, 2, 3, 2, 3, 0, 1, false, true },
        { 1, 1, 7, 40, 3, 2, 2, 2, 1, 1, true, true },
        { 2, 3, 28, 28, 3, 3, 2, 2, 1, 1, false, true },
    };

    private static Pool2dGeometry Geometry(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool inc) =>
        new Pool2dSpec(kh, kw, sh, sw, ph, pw, ceil, inc).Resolve(TensorShape.Nchw(n, c, h, w));

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void MaxPoolMatchesReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool inc)
    {
        var g = Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, inc);
        var rng = new Random(h * 31 + w);
        // Values from a small set so that windows hold ties; first-in-row-major must win.
        var x = Enumerable.Range(0, (int)g.InputShape.ElementCount).Select(_ => (float)rng.Next(-3, 4)).ToArray();
        var dy = SmokeCheck.Random(rng, g.OutputShape.ElementCount);
        var (refY, refArg) = MaxRef(x, g);
        var refDx = new double[x.Length];
        for (int p = 0; p < g.N * g.C; p++)
            for (int o = 0; o < g.OH * g.OW; o++) refDx[p * g.H * g.W + refArg[p * g.OH * g.OW + o]] += dy[p * g.OH * g.OW + o];

        float[]? firstDx = null;
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, g.InputShape, x);
            using var ty = SmokeCheck.Poisoned(b, g.OutputShape);
            using var ta = SmokeCheck.Poisoned(b, g.OutputShape, DataType.Int32);
            b.MaxPool2dForward(tx, ty, ta, g);
            SmokeCheck.Close(ty.ToArray(), refY, 0, 0, "max-pool y");
            Assert.Equal(refArg, ta.ToInt32Array());

            using var tdy = SmokeCheck.Upload(b, g.OutputShape, dy);
            using var tdx = SmokeCheck.Poisoned(b, g.InputShape);
            b.MaxPool2dBackward(tdy, ta, tdx, g);
            var dx = tdx.ToArray();
            SmokeCheck.Close(dx, refDx, 1e-6, 1e-6, "max-pool dx");
            Assert.Equal(MaxGradFloatOrder(dy, refArg, g), dx);
            if (firstDx is null) firstDx = dx; else Assert.Equal(firstDx, dx);
        }
    }

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void AvgPoolMatchesReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool inc)
    {
        var g = Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, inc);
        var rng = new Random(h * 17 + w);
        var x = SmokeCheck.Random(rng, g.InputShape.ElementCount);
        var dy = SmokeCheck.Random(rng, g.OutputShape.ElementCount);
        var refY = new double[g.OutputShape.ElementCount];
        var refDx = new double[x.Length];
        for (int p = 0; p < g.N * g.C; p++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    // PyTorch: hend = min(hstart + kH, H + padH); pool_size before clipping to the real input.
                    int hs = oh * g.SH - g.PadH, ws = ow * g.SW - g.PadW;
                    int he = Math.Min(hs + g.KH, g.H + g.PadH), we = Math.Min(ws + g.KW, g.W + g.PadW);
                    int poolSize = (he - hs) * (we - ws);
                    hs = Math.Max(hs, 0); ws = Math.Max(ws, 0); he = Math.Min(he, g.H); we = Math.Min(we, g.W);
                    int div = g.CountIncludePadding ? poolSize : (he - hs) * (we - ws);
                    int o = p * g.OH * g.OW + oh * g.OW + ow;
                    double s = 0;
                    for (int i = hs; i < he; i++)
                        for (int j = ws; j < we; j++)
                        {
                            s += x[p * g.H * g.W + i * g.W + j];
                            refDx[p * g.H * g.W + i * g.W + j] += dy[o] / (double)div;
                        }
                    refY[o] = s / div;
                }

        // Float32 in the documented order (row-major window sums; gathers over windows in row-major order) must match
        // bit for bit: the SIMD paths may not reorder anything.
        var (exactY, exactDx) = AvgFloatOrder(x, dy, g);

        float[]? firstDx = null;
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, g.InputShape, x);
            using var ty = SmokeCheck.Poisoned(b, g.OutputShape);
            b.AvgPool2dForward(tx, ty, g);
            SmokeCheck.Close(ty.ToArray(), refY, 1e-6, 1e-5, "avg-pool y");
            Assert.Equal(exactY, ty.ToArray());

            using var tdy = SmokeCheck.Upload(b, g.OutputShape, dy);
            using var tdx = SmokeCheck.Poisoned(b, g.InputShape);
            b.AvgPool2dBackward(tdy, tdx, g);
            var dx = tdx.ToArray();
            SmokeCheck.Close(dx, refDx, 1e-6, 1e-5, "avg-pool dx");
            Assert.Equal(exactDx, dx);
            if (firstDx is null) firstDx = dx; else Assert.Equal(firstDx, dx);
        }
    }

    [Fact]
    public void MaxPoolPaddingNeverWinsAndNaNPropagates()
    {
        using var b = Backend.Cpu(1);
        var g = Geometry(1, 1, 2, 2, 3, 3, 1, 1, 1, 1, false, true);
        using var tx = SmokeCheck.Upload(b, g.InputShape, [-5f, -7f, float.NaN, -1f]);
        using var ty = SmokeCheck.Poisoned(b, g.OutputShape);
        using var ta = SmokeCheck.Poisoned(b, g.OutputShape, DataType.Int32);
        b.MaxPool2dForward(tx, ty, ta, g);
        // Every 3x3 window over the padded 2x2 input covers all four elements; the NaN (index 2) wins everywhere.
        Assert.All(ta.ToInt32Array(), a => Assert.Equal(2, a));
        Assert.All(ty.ToArray(), v => Assert.True(float.IsNaN(v)));

        using var tx2 = SmokeCheck.Upload(b, g.InputShape, [-5f, -7f, -9f, -6f]);
        b.MaxPool2dForward(tx2, ty, ta, g);
        Assert.All(ty.ToArray(), v => Assert.Equal(-5f, v));
    }

    [Theory]
    [InlineData(2, 2, 6, 40, 2, 2, 2, 2, 0, 0)]
    [InlineData(1, 2, 9, 9, 3, 3, 2, 2, 1, 1)]
    [InlineData(1, 2, 5, 30, 3, 3, 1, 1, 1, 1)]
    [InlineData(1, 2, 6, 60, 2, 3, 2, 3, 0, 1)]
    public void MaxPoolFirstNaNWins(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var g = Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw, false, true);
        var rng = new Random(3);
        var x = Enumerable.Range(0, (int)g.InputShape.ElementCount).Select(_ => rng.Next(8) == 0 ? float.NaN : rng.Next(-3, 4)).ToArray();
        var (refY, refArg) = MaxRef(x, g);
        using var b = Backend.Cpu(1);
        using var tx = SmokeCheck.Upload(b, g.InputShape, x);
        using var ty = SmokeCheck.Poisoned(b, g.OutputShape);
        using var ta = SmokeCheck.Poisoned(b, g.OutputShape, DataType.Int32);
        b.MaxPool2dForward(tx, ty, ta, g);
        Assert.Equal(refArg, ta.ToInt32Array());
        Assert.Equal(refY.Select(v => (float)v).ToArray(), ty.ToArray());
        Assert.Contains(ty.ToArray(), float.IsNaN);
    }

    [Theory]
    [InlineData(2, 3, 4, 5, 2, 3)]
    [InlineData(1, 2, 3, 3, 1, 1)]
    [InlineData(4, 16, 32, 32, 2, 2)]
    public void UpsampleNearestMatchesReference(int n, int c, int h, int w, int sh, int sw)
    {
        var rng = new Random(n + c + h);
        var inShape = TensorShape.Nchw(n, c, h, w);
        var outShape = TensorShape.Nchw(n, c, h * sh, w * sw);
        var x = SmokeCheck.Random(rng, inShape.ElementCount);
        var dy = SmokeCheck.Random(rng, outShape.ElementCount);
        var refY = new double[outShape.ElementCount];
        var refDx = new double[inShape.ElementCount];
        int oW = w * sw, oH = h * sh;
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oH; i++)
                for (int j = 0; j < oW; j++)
                {
                    int src = p * h * w + (i / sh) * w + j / sw, dst = p * oH * oW + i * oW + j;
                    refY[dst] = x[src];
                    refDx[src] += dy[dst];
                }
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, inShape, x);
            using var ty = SmokeCheck.Poisoned(b, outShape);
            b.UpsampleNearest2dForward(tx, ty, sh, sw);
            SmokeCheck.Close(ty.ToArray(), refY, 0, 0, "upsample y");
            using var tdy = SmokeCheck.Upload(b, outShape, dy);
            using var tdx = SmokeCheck.Poisoned(b, inShape);
            b.UpsampleNearest2dBackward(tdy, tdx, sh, sw);
            SmokeCheck.Close(tdx.ToArray(), refDx, 1e-6, 1e-6, "upsample dx");
        }
    }

    /// <summary>The max-pool gather in float32 and its documented order: windows in row-major order, +dY where the argmax is me.</summary>
    private static float[] MaxGradFloatOrder(float[] dy, int[] arg, Pool2dGeometry g)
    {
        var dx = new float[g.N * g.C * g.H * g.W];
        for (int p = 0; p < g.N * g.C; p++)
            for (int me = 0; me < g.H * g.W; me++)
            {
                float sum = 0f;
                for (int o = 0; o < g.OH * g.OW; o++)
                    if (arg[p * g.OH * g.OW + o] == me) sum += dy[p * g.OH * g.OW + o];
                dx[p * g.H * g.W + me] = sum;
            }
        return dx;
    }

    private static (float[] Y, float[] Dx) AvgFloatOrder(float[] x, float[] dy, Pool2dGeometry g)
    {
        var y = new float[g.N * g.C * g.OH * g.OW];
        var dx = new float[x.Length];
        int Divisor(int oh, int ow)
        {
            int hs = oh * g.SH - g.PadH, ws = ow * g.SW - g.PadW;
            int he = Math.Min(hs + g.KH, g.H + g.PadH), we = Math.Min(ws + g.KW, g.W + g.PadW);
            return g.CountIncludePadding ? (he - hs) * (we - ws)
                : (Math.Min(he, g.H) - Math.Max(hs, 0)) * (Math.Min(we, g.W) - Math.Max(ws, 0));
        }
        bool Inside(int o, int i, int k, int s, int p) => o * s - p <= i && i < o * s - p + k;
        for (int p = 0; p < g.N * g.C; p++)
        {
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    float sum = 0f;
                    for (int i = Math.Max(oh * g.SH - g.PadH, 0); i < Math.Min(oh * g.SH - g.PadH + g.KH, g.H); i++)
                        for (int j = Math.Max(ow * g.SW - g.PadW, 0); j < Math.Min(ow * g.SW - g.PadW + g.KW, g.W); j++)
                            sum += x[p * g.H * g.W + i * g.W + j];
                    y[p * g.OH * g.OW + oh * g.OW + ow] = sum / Divisor(oh, ow);
                }
            for (int i = 0; i < g.H; i++)
                for (int j = 0; j < g.W; j++)
                {
                    float sum = 0f;
                    for (int oh = 0; oh < g.OH; oh++)
                        for (int ow = 0; ow < g.OW; ow++)
                            if (Inside(oh, i, g.KH, g.SH, g.PadH) && Inside(ow, j, g.KW, g.SW, g.PadW))
                                sum += dy[p * g.OH * g.OW + oh * g.OW + ow] / Divisor(oh, ow);
                    dx[p * g.H * g.W + i * g.W + j] = sum;
                }
        }
        return (y, dx);
    }

    private static (double[] Y, int[] Arg) MaxRef(float[] x, Pool2dGeometry g)
    {
        var y = new double[g.N * g.C * g.OH * g.OW];
        var arg = new int[y.Length];
        for (int p = 0; p < g.N * g.C; p++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int best = -1;
                    double max = double.NegativeInfinity;
                    for (int i = 0; i < g.KH; i++)
                        for (int j = 0; j < g.KW; j++)
                        {
                            int hh = oh * g.SH - g.PadH + i, ww = ow * g.SW - g.PadW + j;
                            if (hh < 0 || hh >= g.H || ww < 0 || ww >= g.W) continue;
                            double v = x[p * g.H * g.W + hh * g.W + ww];
                            // Strictly greater wins (ties keep the first); the first NaN wins and holds.
                            if (best < 0 || v > max || (double.IsNaN(v) && !double.IsNaN(max))) { best = hh * g.W + ww; max = v; }
                        }
                    int o = p * g.OH * g.OW + oh * g.OW + ow;
                    y[o] = max;
                    arg[o] = best;
                }
        return (y, arg);
    }
}
