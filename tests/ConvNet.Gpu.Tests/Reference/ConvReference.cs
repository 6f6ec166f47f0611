namespace ConvNet.Gpu.Tests.Reference;

/// <summary>
/// Naive float64 convolution, written from the seeds' pseudocode (001 "CNN: Forward" / "Backward layer l", 004 "Convolution
/// layer sensitivity") as direct loops; slow on purpose. Layouts: x (N, C, H, W), w (K, C/G, KH, KW), y (N, K, OH, OW),
/// all row-major. Window (oh, ow) reads x[ih = oh*SH - PadTop + kh*DH, iw = ow*SW - PadLeft + kw*DW]; taps outside the
/// input are zero padding. Output channel k belongs to group g = k / (K/G), which reads input channels g*C/G .. (g+1)*C/G - 1.
/// The geometry record only carries the sizes: <see cref="OutputSize"/> recomputes OH/OW independently and every routine checks them.
/// </summary>
public static class ConvReference
{
    /// <summary>o = floor((x + pBefore + pAfter - k - (k-1)(d-1)) / s) + 1 (worked-examples.md §1).</summary>
    public static int OutputSize(int x, int padBefore, int padAfter, int k, int s, int d) =>
        (int)Math.Floor((x + padBefore + padAfter - k - (k - 1) * (d - 1)) / (double)s) + 1;

    private static void CheckSizes(Conv2dGeometry g)
    {
        int oh = OutputSize(g.H, g.PadTop, g.PadBottom, g.KH, g.SH, g.DH);
        int ow = OutputSize(g.W, g.PadLeft, g.PadRight, g.KW, g.SW, g.DW);
        if (oh != g.OH || ow != g.OW)
            throw new InvalidOperationException($"Geometry {g} has output {g.OH}x{g.OW}, but the formula gives {oh}x{ow}.");
    }

    private static double X(double[] x, Conv2dGeometry g, int n, int c, int ih, int iw) =>
        ih < 0 || ih >= g.H || iw < 0 || iw >= g.W ? 0.0 : x[((n * g.C + c) * g.H + ih) * g.W + iw];

    /// <summary>y[n,k,oh,ow] = b[k] + sum over c', kh, kw of w[k,c',kh,kw] * x[n, g*C/G + c', ih, iw].</summary>
    public static double[] Forward(double[] x, double[] w, double[]? b, Conv2dGeometry g)
    {
        CheckSizes(g);
        var y = new double[g.N * g.K * g.OH * g.OW];
        int cg = g.C / g.Groups, kg = g.K / g.Groups;
        for (int n = 0; n < g.N; n++)
        for (int k = 0; k < g.K; k++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
        {
            double z = b is null ? 0.0 : b[k];
            int group = k / kg;
            for (int ci = 0; ci < cg; ci++)
            for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
                z += w[((k * cg + ci) * g.KH + kh) * g.KW + kw]
                     * X(x, g, n, group * cg + ci, oh * g.SH - g.PadTop + kh * g.DH, ow * g.SW - g.PadLeft + kw * g.DW);
            y[((n * g.K + k) * g.OH + oh) * g.OW + ow] = z;
        }
        return y;
    }

    /// <summary>
    /// dX as the full convolution of dY with the 180-degree-rotated, channel-transposed filters (seed 004), written
    /// independently of <see cref="Forward"/>: dY is conceptually dilated by the stride (SH-1 zeros between rows) and padded
    /// by (effective kernel - 1 - padding) before (which may be negative, i.e. a crop), and then correlated at stride 1 with
    /// W'[c, k, i, j] = W[k, c - g*C/G, KH-1-i, KW-1-j], whose taps are spaced by the dilation.
    /// </summary>
    public static double[] BackwardData(double[] dy, double[] w, Conv2dGeometry g)
    {
        CheckSizes(g);
        int cg = g.C / g.Groups, kg = g.K / g.Groups;
        int keffH = g.KH + (g.KH - 1) * (g.DH - 1), keffW = g.KW + (g.KW - 1) * (g.DW - 1);
        int padTop = keffH - 1 - g.PadTop, padLeft = keffW - 1 - g.PadLeft;

        // The stride-dilated, padded dY at row r, column q of channel k (zero outside and between the inserted zeros).
        double DyPadded(int n, int k, int r, int q)
        {
            int rr = r - padTop, qq = q - padLeft;
            if (rr < 0 || qq < 0 || rr % g.SH != 0 || qq % g.SW != 0) return 0.0;
            int oh = rr / g.SH, ow = qq / g.SW;
            return oh >= g.OH || ow >= g.OW ? 0.0 : dy[((n * g.K + k) * g.OH + oh) * g.OW + ow];
        }

        // Rotated, channel-transposed filter: rows indexed by input channel c, then the output channels of c's group.
        double WRot(int c, int k, int i, int j) =>
            w[((k * cg + (c % cg)) * g.KH + (g.KH - 1 - i)) * g.KW + (g.KW - 1 - j)];

        var dx = new double[g.N * g.C * g.H * g.W];
        for (int n = 0; n < g.N; n++)
        for (int c = 0; c < g.C; c++)
        {
            int group = c / cg;
            for (int ih = 0; ih < g.H; ih++)
            for (int iw = 0; iw < g.W; iw++)
            {
                double s = 0.0;
                for (int k = group * kg; k < (group + 1) * kg; k++)
                for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                    s += DyPadded(n, k, ih + i * g.DH, iw + j * g.DW) * WRot(c, k, i, j);
                dx[((n * g.C + c) * g.H + ih) * g.W + iw] = s;
            }
        }
        return dx;
    }

    /// <summary>dW[k,c',kh,kw] = sum over n, oh, ow of dY[n,k,oh,ow] * x[n, g*C/G + c', ih, iw] (seed 000, "df0 = dy0 x0 + ...").</summary>
    public static double[] BackwardWeights(double[] x, double[] dy, Conv2dGeometry g)
    {
        CheckSizes(g);
        int cg = g.C / g.Groups, kg = g.K / g.Groups;
        var dw = new double[g.K * cg * g.KH * g.KW];
        for (int k = 0; k < g.K; k++)
        for (int ci = 0; ci < cg; ci++)
        for (int kh = 0; kh < g.KH; kh++)
        for (int kw = 0; kw < g.KW; kw++)
        {
            double s = 0.0;
            int c = (k / kg) * cg + ci;
            for (int n = 0; n < g.N; n++)
            for (int oh = 0; oh < g.OH; oh++)
            for (int ow = 0; ow < g.OW; ow++)
                s += dy[((n * g.K + k) * g.OH + oh) * g.OW + ow]
                     * X(x, g, n, c, oh * g.SH - g.PadTop + kh * g.DH, ow * g.SW - g.PadLeft + kw * g.DW);
            dw[((k * cg + ci) * g.KH + kh) * g.KW + kw] = s;
        }
        return dw;
    }

    /// <summary>db[c] = sum of dY over n and the trailing positions: dY viewed as (N, C, rest).</summary>
    public static double[] BiasGradient(double[] dy, int n, int c, int rest)
    {
        var db = new double[c];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        for (int r = 0; r < rest; r++)
            db[j] += dy[(i * c + j) * rest + r];
        return db;
    }

    /// <summary>y[n,c,r] = x[n,c,r] + b[c]: x viewed as (N, C, rest).</summary>
    public static double[] BiasAdd(double[] x, double[] b, int n, int c, int rest)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        for (int r = 0; r < rest; r++)
            y[(i * c + j) * rest + r] = x[(i * c + j) * rest + r] + b[j];
        return y;
    }

    /// <summary>im2col: columns[n, (c*KH + kh)*KW + kw, oh*OW + ow] = x[n, c, ih, iw], 0 for padded taps.</summary>
    public static double[] Im2Col(double[] x, Conv2dGeometry g)
    {
        CheckSizes(g);
        int rows = g.C * g.KH * g.KW, cols = g.OH * g.OW;
        var col = new double[g.N * rows * cols];
        for (int n = 0; n < g.N; n++)
        for (int c = 0; c < g.C; c++)
        for (int kh = 0; kh < g.KH; kh++)
        for (int kw = 0; kw < g.KW; kw++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
            col[(n * rows + (c * g.KH + kh) * g.KW + kw) * cols + oh * g.OW + ow] =
                X(x, g, n, c, oh * g.SH - g.PadTop + kh * g.DH, ow * g.SW - g.PadLeft + kw * g.DW);
        return col;
    }

    /// <summary>col2im, the adjoint of im2col: each column entry is added to the input element it was read from.</summary>
    public static double[] Col2Im(double[] col, Conv2dGeometry g)
    {
        CheckSizes(g);
        int rows = g.C * g.KH * g.KW, cols = g.OH * g.OW;
        var x = new double[g.N * g.C * g.H * g.W];
        for (int n = 0; n < g.N; n++)
        for (int c = 0; c < g.C; c++)
        for (int kh = 0; kh < g.KH; kh++)
        for (int kw = 0; kw < g.KW; kw++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++)
        {
            int ih = oh * g.SH - g.PadTop + kh * g.DH, iw = ow * g.SW - g.PadLeft + kw * g.DW;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            x[((n * g.C + c) * g.H + ih) * g.W + iw] += col[(n * rows + (c * g.KH + kh) * g.KW + kw) * cols + oh * g.OW + ow];
        }
        return x;
    }
}
