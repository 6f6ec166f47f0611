using System.Runtime.CompilerServices;
using static ConvNet.Gpu.Backends.Cpu.Conv.VectorRuns;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Direct depthwise convolution (groups = C, so every output channel k reads the single input channel k / (K/C)).
/// A GEMM per group would have one output row and a KH*KW-long reduction, all overhead and no reuse; here each
/// (kh, kw) tap is a scaled, shifted row added into the output (forward), into the input gradient (backward-data),
/// or a dot product (backward-weights), over the in-bounds column range computed once per tap.
/// Each method handles one plane, so callers parallelize over planes; every sum runs in a fixed order.
/// </summary>
internal static unsafe class DepthwiseConv
{
    /// <summary>Whether <paramref name="g"/> is depthwise (one input channel per group).</summary>
    public static bool Applies(Conv2dGeometry g) => g.Groups == g.C && g.Groups > 1;

    /// <summary>Output plane (n, k) = bias + sum of taps: <paramref name="x"/> is the input plane, <paramref name="w"/> the KH*KW filter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(float* x, float* w, float bias, float* y, Conv2dGeometry g)
    {
        for (int oh = 0; oh < g.OH; oh++)
        {
            float* dst = y + (long)oh * g.OW;
            Fill(dst, bias, g.OW);
            for (int kh = 0; kh < g.KH; kh++)
            {
                int ih = oh * g.SH - g.PadTop + kh * g.DH;
                if ((uint)ih >= (uint)g.H) continue;
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int off = kw * g.DW - g.PadLeft;
                    var (lo, hi) = ConvColumns.ValidRange(off, g.SW, g.W, g.OW);
                    float* src = x + (long)ih * g.W + off;
                    float wt = w[kh * g.KW + kw];
                    if (g.SW == 1) Axpy(dst + lo, src + lo, wt, hi - lo);
                    else for (int i = lo; i < hi; i++) dst[i] += wt * src[i * g.SW];
                }
            }
        }
    }

    /// <summary>
    /// Input-gradient plane (n, c), overwritten: the transposed taps of the <paramref name="multiplier"/> output planes
    /// <paramref name="dy"/> (consecutive, OH*OW apart) with their filters <paramref name="w"/> (consecutive, KH*KW apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardData(float* dy, float* w, int multiplier, float* dx, Conv2dGeometry g)
    {
        Zero(dx, g.H * g.W);
        for (int m = 0; m < multiplier; m++)
        {
            float* dyk = dy + (long)m * g.OutputPlane, wk = w + m * g.KH * g.KW;
            for (int oh = 0; oh < g.OH; oh++)
            {
                float* src = dyk + (long)oh * g.OW;
                for (int kh = 0; kh < g.KH; kh++)
                {
                    int ih = oh * g.SH - g.PadTop + kh * g.DH;
                    if ((uint)ih >= (uint)g.H) continue;
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        int off = kw * g.DW - g.PadLeft;
                        var (lo, hi) = ConvColumns.ValidRange(off, g.SW, g.W, g.OW);
                        float* dst = dx + (long)ih * g.W + off;
                        float wt = wk[kh * g.KW + kw];
                        if (g.SW == 1) Axpy(dst + lo, src + lo, wt, hi - lo);
                        else for (int i = lo; i < hi; i++) dst[i * g.SW] += wt * src[i];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Filter gradient of output channel k over the whole batch: dW[kh, kw] (+)= sum over n, oh, ow of
    /// dY[n, k, oh, ow] * X[n, c, ih, iw], with sample n's planes at <paramref name="x"/> + n*xStride and
    /// <paramref name="dy"/> + n*dyStride. Summed per row in float, across rows and samples in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeights(float* x, long xStride, float* dy, long dyStride, float* dw, bool accumulate, Conv2dGeometry g)
    {
        for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int off = kw * g.DW - g.PadLeft;
                var (lo, hi) = ConvColumns.ValidRange(off, g.SW, g.W, g.OW);
                double sum = 0;
                for (int n = 0; n < g.N; n++)
                {
                    float* xn = x + n * xStride, dyn = dy + n * dyStride;
                    for (int oh = 0; oh < g.OH; oh++)
                    {
                        int ih = oh * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H) continue;
                        float* src = xn + (long)ih * g.W + off;
                        float* d = dyn + (long)oh * g.OW;
                        if (g.SW == 1) sum += Dot(d + lo, src + lo, hi - lo);
                        else
                        {
                            float s = 0;
                            for (int i = lo; i < hi; i++) s += d[i] * src[i * g.SW];
                            sum += s;
                        }
                    }
                }
                float* target = dw + kh * g.KW + kw;
                *target = accumulate ? *target + (float)sum : (float)sum;
            }
    }
}
