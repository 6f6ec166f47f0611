using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Average pooling of one plane at a time: forward, and backward as a gather.
/// Each call reads one (H, W) input plane and one (OH, OW) output plane in a fixed order, so the result is the same
/// whichever thread runs it.
/// </summary>
internal static unsafe class AvgPoolKernels
{
    /// <summary>Average pooling of one plane: the window's real elements summed row-major, divided by its divisor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgForwardPlane(float* x, float* y, Pool2dGeometry g, PoolWindows win)
    {
        int w = g.W, oH = g.OH, oW = g.OW;
        int[] rs = win.RowStart, re = win.RowEnd, rc = win.RowCount, cs = win.ColStart, ce = win.ColEnd, cc = win.ColCount;
        int sw = g.SW, kw = g.KW, pw = g.PadW;
        int vLo = (pw + sw - 1) / sw, vHi = oW - 8;
        while (vHi >= vLo && !PoolColumns.CanVectorizeColumns(vHi, oW, sw, kw, pw, w)) vHi--;
        for (int oh = 0; oh < oH; oh++)
        {
            int hs = rs[oh], he = re[oh], rows = rc[oh];
            int vEnd = vLo;
            if (vHi >= vLo)
            {
                for (int ow0 = vLo; ow0 <= vHi + 7; ow0 += 8)
                {
                    int ow = Math.Min(ow0, vHi);
                    AvgForward8(x, y + oh * oW + ow, w, hs, he, ow * sw - pw, sw, kw, rows, cc, ow);
                }
                vEnd = vHi + 8;
            }
            for (int ow = 0; ow < oW; ow++)
            {
                if (ow == vLo && vEnd > vLo) ow = vEnd;
                if (ow >= oW) break;
                int ws = cs[ow], we = ce[ow];
                float sum = 0f;
                for (int h = hs; h < he; h++)
                {
                    float* row = x + h * w;
                    for (int c = ws; c < we; c++) sum += row[c];
                }
                y[oh * oW + ow] = sum / (rows * cc[ow]);
            }
        }
    }

    /// <summary>
    /// Eight horizontally adjacent average windows inside the row (see <see cref="MaxPoolKernels"/>). Each lane adds its
    /// window in the scalar loop's row-major order and divides by the same integer divisor, so the bits match it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgForward8(float* x, float* y, int w, int hs, int he, int col0, int stride, int kw, int rows, int[] colCount, int ow)
    {
        var evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var sum = Vector256<float>.Zero;
        for (int h = hs; h < he; h++)
        {
            float* row = x + h * w;
            if (stride == 2)
            {
                // One even/odd split serves window columns k and k + 1; the additions keep their order.
                for (int k = 0; k < kw; k += 2)
                {
                    var (even, odd) = PoolColumns.SplitEvenOdd(row + col0 + k, evenOdd);
                    sum += even;
                    if (k + 1 < kw) sum += odd;
                }
                continue;
            }
            for (int k = 0; k < kw; k++) sum += PoolColumns.LoadColumns(row, col0 + k, stride, evenOdd);
        }
        var divisor = Vector256.Create(rows) * Vector256.Create(colCount[ow], colCount[ow + 1], colCount[ow + 2], colCount[ow + 3],
            colCount[ow + 4], colCount[ow + 5], colCount[ow + 6], colCount[ow + 7]);
        (sum / Vector256.ConvertToSingle(divisor)).Store(y);
    }

    /// <summary>Average-pool backward of one plane as a gather: dX[h, w] = sum over windows containing (h, w) of dY / divisor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgBackwardPlane(float* dy, float* dx, Pool2dGeometry g, PoolWindows win)
    {
        if (g.SH >= g.KH && g.SW >= g.KW)
        {
            AvgBackwardDisjoint(dy, dx, g, win);
            return;
        }
        int hIn = g.H, wIn = g.W;
        var plan = win.GatherColumns;
        for (int h = 0; h < hIn; h++)
        {
            if (plan is null)
            {
                for (int w = 0; w < wIn; w++) dx[h * wIn + w] = GatherOne(dy, g, win, h, w);
                continue;
            }
            for (int b = 0; b < plan.BlockStart.Length; b++)
            {
                int w0 = plan.BlockStart[b], bse = plan.BlockBase[b];
                if (bse < 0)
                {
                    for (int w = w0; w < w0 + 8; w++) dx[h * wIn + w] = GatherOne(dy, g, win, h, w);
                    continue;
                }
                Gather8(dy, dx + h * wIn + w0, g.OW, win, h, plan, w0, bse, wIn);
            }
        }
    }

    /// <summary>dX[h, w] for one element: dY / divisor summed over the windows containing it, in row-major window order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float GatherOne(float* dy, Pool2dGeometry g, PoolWindows win, int h, int w)
    {
        int oW = g.OW;
        int owLo = win.ColCoverLo[w], owHi = win.ColCoverHi[w];
        int[] rc = win.RowCount, cc = win.ColCount;
        float sum = 0f;
        for (int oh = win.RowCoverLo[h]; oh <= win.RowCoverHi[h]; oh++)
        {
            int rows = rc[oh];
            for (int ow = owLo; ow <= owHi; ow++) sum += dy[oh * oW + ow] / (rows * cc[ow]);
        }
        return sum;
    }

    /// <summary>
    /// <see cref="GatherOne"/> for eight adjacent columns: per window row, one load of dY and of the column divisors at
    /// [bse, bse + 8) and a lane shuffle per slot; absent slots add +0, so the order and the bits match.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather8(float* dy, float* dxRow, int oW, PoolWindows win, int h, PoolGatherColumns plan, int w0, int bse, int wIn)
    {
        var vBase = Vector256.Create(bse);
        var sum = Vector256<float>.Zero;
        Vector256<int> cols;
        fixed (int* cc = &win.ColCount[bse]) cols = Vector256.Load(cc);
        for (int oh = win.RowCoverLo[h]; oh <= win.RowCoverHi[h]; oh++)
        {
            var d8 = Vector256.Load(dy + oh * oW + bse);
            var div8 = Vector256.Create(win.RowCount[oh]) * cols;
            for (int j = 0; j < plan.Slots; j++)
            {
                fixed (int* idxRow = &plan.Index[j * wIn + w0])
                {
                    var idx = Vector256.Load(idxRow);
                    var present = Vector256.GreaterThanOrEqual(idx, Vector256<int>.Zero);
                    var rel = (idx - vBase) & present;
                    var term = Vector256.Shuffle(d8, rel) / Vector256.ConvertToSingle(Vector256.Shuffle(div8, rel));
                    sum += term & present.AsSingle();
                }
            }
        }
        sum.Store(dxRow);
    }

    /// <summary>Average-pool gather when windows do not overlap: each covered element receives 0 + dY / divisor of its one window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgBackwardDisjoint(float* dy, float* dx, Pool2dGeometry g, PoolWindows win)
    {
        int wIn = g.W, oH = g.OH, oW = g.OW;
        if (g.SH > g.KH || g.SW > g.KW || g.OH * g.SH - g.PadH < g.H || g.OW * g.SW - g.PadW < g.W)
            new Span<float>(dx, g.H * wIn).Clear();
        int[] rs = win.RowStart, re = win.RowEnd, rc = win.RowCount, cs = win.ColStart, ce = win.ColEnd, cc = win.ColCount;
        if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PadH == 0 && g.PadW == 0 && 2 * oH <= g.H && 2 * oW <= wIn && oW >= 8)
        {
            // Every window is a full 2x2 block: divisor 4 whatever count_include_pad says.
            AvgBackward2x2(dy, dx, wIn, oH, oW);
            return;
        }
        for (int oh = 0; oh < oH; oh++)
            for (int ow = 0; ow < oW; ow++)
            {
                float q = 0f + dy[oh * oW + ow] / (rc[oh] * cc[ow]);
                for (int h = rs[oh]; h < re[oh]; h++)
                {
                    float* row = dx + h * wIn;
                    for (int c = cs[ow]; c < ce[ow]; c++) row[c] = q;
                }
            }
    }

    /// <summary>2x2 stride-2 disjoint average gather, eight windows at a time: each element gets 0 + dY / 4 of its window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgBackward2x2(float* dy, float* dx, int w, int oH, int oW)
    {
        var lowPairs = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
        var highPairs = Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7);
        var four = Vector256.Create(4f);
        for (int oh = 0; oh < oH; oh++)
        {
            float* d0 = dx + 2 * oh * w;
            for (int ow0 = 0; ow0 < oW; ow0 += 8)
            {
                int ow = Math.Min(ow0, oW - 8); // the last block is shifted left; rewrites identical values
                var q = Vector256<float>.Zero + Vector256.Load(dy + oh * oW + ow) / four;
                var lo = Vector256.Shuffle(q, lowPairs);
                var hi = Vector256.Shuffle(q, highPairs);
                int c = 2 * ow;
                lo.Store(d0 + c);
                hi.Store(d0 + c + 8);
                lo.Store(d0 + w + c);
                hi.Store(d0 + w + c + 8);
            }
        }
    }
}
