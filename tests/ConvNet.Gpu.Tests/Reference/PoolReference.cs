namespace ConvNet.Gpu.Tests.Reference;

/// <summary>
/// Naive float64 pooling and upsampling (seeds 000, 002, 003). Window (oh, ow) covers rows [oh*SH - PadH, oh*SH - PadH + KH)
/// and columns likewise; only real input elements take part (padding never wins a max). Average pooling divides by the
/// window clipped to the padded input (count_include_pad, PyTorch's default) or by the number of real elements.
/// x (N, C, H, W), y (N, C, OH, OW).
/// </summary>
public static class PoolReference
{
    /// <summary>Max pooling: values and argmax (h*W + w inside the plane; ties go to the first in row-major window order).</summary>
    public static (double[] Y, int[] Argmax) MaxForward(double[] x, Pool2dGeometry g)
    {
        var y = new double[g.N * g.C * g.OH * g.OW];
        var arg = new int[y.Length];
        for (int p = 0; p < g.N * g.C; p++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
        {
            double best = double.NegativeInfinity;
            int at = -1;
            for (int ih = oh * g.SH - g.PadH; ih < oh * g.SH - g.PadH + g.KH; ih++)
            for (int iw = ow * g.SW - g.PadW; iw < ow * g.SW - g.PadW + g.KW; iw++)
            {
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                double v = x[p * g.H * g.W + ih * g.W + iw];
                if (at < 0 || v > best) { best = v; at = ih * g.W + iw; }
            }
            if (at < 0) throw new InvalidOperationException($"Window ({oh}, {ow}) of {g} holds no input element.");
            y[(p * g.OH + oh) * g.OW + ow] = best;
            arg[(p * g.OH + oh) * g.OW + ow] = at;
        }
        return (y, arg);
    }

    /// <summary>Max backward: dX[argmax] += dY for every window (overlapping winners accumulate, seed 001).</summary>
    public static double[] MaxBackward(double[] dy, int[] argmax, Pool2dGeometry g)
    {
        var dx = new double[g.N * g.C * g.H * g.W];
        for (int p = 0; p < g.N * g.C; p++)
        for (int o = 0; o < g.OH * g.OW; o++)
            dx[p * g.H * g.W + argmax[p * g.OH * g.OW + o]] += dy[p * g.OH * g.OW + o];
        return dx;
    }

    private static (int H0, int H1, int W0, int W1, int Divisor) Window(Pool2dGeometry g, int oh, int ow)
    {
        int h0 = oh * g.SH - g.PadH, w0 = ow * g.SW - g.PadW;
        int h1 = Math.Min(h0 + g.KH, g.H + g.PadH), w1 = Math.Min(w0 + g.KW, g.W + g.PadW);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.H); w1 = Math.Min(w1, g.W);
        return (h0, h1, w0, w1, g.CountIncludePadding ? padded : (h1 - h0) * (w1 - w0));
    }

    /// <summary>Average pooling forward.</summary>
    public static double[] AvgForward(double[] x, Pool2dGeometry g)
    {
        var y = new double[g.N * g.C * g.OH * g.OW];
        for (int p = 0; p < g.N * g.C; p++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
        {
            var (h0, h1, w0, w1, div) = Window(g, oh, ow);
            double s = 0;
            for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
                s += x[p * g.H * g.W + ih * g.W + iw];
            y[(p * g.OH + oh) * g.OW + ow] = s / div;
        }
        return y;
    }

    /// <summary>Average pooling backward: each dY spread as dY/divisor over its window; overlaps accumulate.</summary>
    public static double[] AvgBackward(double[] dy, Pool2dGeometry g)
    {
        var dx = new double[g.N * g.C * g.H * g.W];
        for (int p = 0; p < g.N * g.C; p++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
        {
            var (h0, h1, w0, w1, div) = Window(g, oh, ow);
            double d = dy[(p * g.OH + oh) * g.OW + ow] / div;
            for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
                dx[p * g.H * g.W + ih * g.W + iw] += d;
        }
        return dx;
    }

    /// <summary>Nearest upsampling: y[p, h, w] = x[p, h / sh, w / sw]; x has planes of h x w.</summary>
    public static double[] UpsampleForward(double[] x, int planes, int h, int w, int sh, int sw)
    {
        var y = new double[planes * h * sh * w * sw];
        for (int p = 0; p < planes; p++)
        for (int i = 0; i < h * sh; i++)
        for (int j = 0; j < w * sw; j++)
            y[(p * h * sh + i) * w * sw + j] = x[(p * h + i / sh) * w + j / sw];
        return y;
    }

    /// <summary>Upsample backward: dX[p, i, j] = sum of the sh x sw block of dY it was copied to.</summary>
    public static double[] UpsampleBackward(double[] dy, int planes, int h, int w, int sh, int sw)
    {
        var dx = new double[planes * h * w];
        for (int p = 0; p < planes; p++)
        for (int i = 0; i < h * sh; i++)
        for (int j = 0; j < w * sw; j++)
            dx[(p * h + i / sh) * w + j / sw] += dy[(p * h * sh + i) * w * sw + j];
        return dx;
    }
}
