namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Single-plane pooling and upsampling kernels: each call reads one (H, W) input plane and one (OH, OW) output plane,
/// in a fixed row-major order, so the result is the same whichever thread runs it.
/// </summary>
internal static unsafe class PoolKernels
{
    /// <summary>
    /// Max pooling of one plane. Each window starts from its first real element, so padding never wins; later
    /// elements replace it only when strictly greater (ties keep the first in row-major order). A NaN wins at once
    /// and ends the window, so NaNs propagate as in PyTorch.
    /// </summary>
    public static void MaxForwardPlane(float* x, float* y, int* argmax, Pool2dGeometry g)
    {
        int w = g.W;
        for (int oh = 0; oh < g.OH; oh++)
        {
            int hs = oh * g.SH - g.PadH;
            int he = Math.Min(hs + g.KH, g.H);
            hs = Math.Max(hs, 0);
            for (int ow = 0; ow < g.OW; ow++)
            {
                int ws = ow * g.SW - g.PadW;
                int we = Math.Min(ws + g.KW, w);
                ws = Math.Max(ws, 0);
                int best = hs * w + ws;
                float max = x[best];
                if (!float.IsNaN(max))
                {
                    for (int h = hs; h < he; h++)
                    {
                        float* row = x + h * w;
                        for (int c = ws; c < we; c++)
                        {
                            float v = row[c];
                            if (!(v <= max)) // v > max, or v is NaN
                            {
                                max = v;
                                best = h * w + c;
                                if (float.IsNaN(v)) goto done;
                            }
                        }
                    }
                }
            done:
                y[oh * g.OW + ow] = max;
                argmax[oh * g.OW + ow] = best;
            }
        }
    }

    /// <summary>Max-pool backward of one plane as a gather: dX[h, w] = sum of dY over the windows whose argmax is h*W + w.</summary>
    public static void MaxBackwardPlane(float* dy, int* argmax, float* dx, Pool2dGeometry g)
    {
        for (int h = 0; h < g.H; h++)
        {
            var (ohLo, ohHi) = PoolWindows.Covering(h, g.KH, g.SH, g.PadH, g.OH);
            for (int w = 0; w < g.W; w++)
            {
                var (owLo, owHi) = PoolWindows.Covering(w, g.KW, g.SW, g.PadW, g.OW);
                int me = h * g.W + w;
                float sum = 0f;
                for (int oh = ohLo; oh <= ohHi; oh++)
                    for (int ow = owLo; ow <= owHi; ow++)
                    {
                        int o = oh * g.OW + ow;
                        if (argmax[o] == me) sum += dy[o];
                    }
                dx[me] = sum;
            }
        }
    }

    /// <summary>Average pooling of one plane: the window's real elements summed row-major, divided by its divisor.</summary>
    public static void AvgForwardPlane(float* x, float* y, Pool2dGeometry g, PoolWindows win)
    {
        int w = g.W;
        for (int oh = 0; oh < g.OH; oh++)
        {
            int hs = win.RowStart[oh], he = win.RowEnd[oh], rows = win.RowCount[oh];
            for (int ow = 0; ow < g.OW; ow++)
            {
                int ws = win.ColStart[ow], we = win.ColEnd[ow];
                float sum = 0f;
                for (int h = hs; h < he; h++)
                {
                    float* row = x + h * w;
                    for (int c = ws; c < we; c++) sum += row[c];
                }
                y[oh * g.OW + ow] = sum / (rows * win.ColCount[ow]);
            }
        }
    }

    /// <summary>Average-pool backward of one plane as a gather: dX[h, w] = sum over windows containing (h, w) of dY / divisor.</summary>
    public static void AvgBackwardPlane(float* dy, float* dx, Pool2dGeometry g, PoolWindows win)
    {
        for (int h = 0; h < g.H; h++)
        {
            var (ohLo, ohHi) = PoolWindows.Covering(h, g.KH, g.SH, g.PadH, g.OH);
            for (int w = 0; w < g.W; w++)
            {
                var (owLo, owHi) = PoolWindows.Covering(w, g.KW, g.SW, g.PadW, g.OW);
                float sum = 0f;
                for (int oh = ohLo; oh <= ohHi; oh++)
                {
                    int rows = win.RowCount[oh];
                    for (int ow = owLo; ow <= owHi; ow++)
                        sum += dy[oh * g.OW + ow] / (rows * win.ColCount[ow]);
                }
                dx[h * g.W + w] = sum;
            }
        }
    }

    /// <summary>Nearest upsampling of one plane: (h, w) to (h*scaleH, w*scaleW); the first output row of a block is built, the rest copied.</summary>
    public static void UpsampleForwardPlane(float* x, float* y, int h, int w, int scaleH, int scaleW)
    {
        int outW = w * scaleW;
        for (int r = 0; r < h; r++)
        {
            float* src = x + r * w;
            float* dst = y + (long)r * scaleH * outW;
            if (scaleW == 1)
                new ReadOnlySpan<float>(src, w).CopyTo(new Span<float>(dst, outW));
            else
                for (int c = 0; c < w; c++)
                {
                    float v = src[c];
                    float* d = dst + c * scaleW;
                    for (int j = 0; j < scaleW; j++) d[j] = v;
                }
            for (int i = 1; i < scaleH; i++)
                new ReadOnlySpan<float>(dst, outW).CopyTo(new Span<float>(dst + (long)i * outW, outW));
        }
    }

    /// <summary>Nearest-upsampling backward of one plane: each input element sums its scaleH x scaleW block, row-major.</summary>
    public static void UpsampleBackwardPlane(float* dy, float* dx, int h, int w, int scaleH, int scaleW)
    {
        int outW = w * scaleW;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
            {
                float sum = 0f;
                float* block = dy + (long)r * scaleH * outW + c * scaleW;
                for (int i = 0; i < scaleH; i++)
                    for (int j = 0; j < scaleW; j++) sum += block[i * outW + j];
                dx[r * w + c] = sum;
            }
    }
}
