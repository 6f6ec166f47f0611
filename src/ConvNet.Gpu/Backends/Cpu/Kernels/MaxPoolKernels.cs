using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Max pooling of one plane at a time: forward with int32 argmax, backward as a gather.
/// Each call reads one (H, W) input plane and one (OH, OW) output plane in a fixed order, so the result is the same
/// whichever thread runs it.
/// </summary>
internal static unsafe class MaxPoolKernels
{
    /// <summary>
    /// Max pooling of one plane. Each window starts from its first real element, so padding never wins; later
    /// elements replace it only when strictly greater (ties keep the first in row-major order). The first NaN wins and
    /// holds, so NaNs propagate as in PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxForwardPlane(float* x, float* y, int* argmax, Pool2dGeometry g, PoolWindows win)
    {
        int w = g.W, oH = g.OH, oW = g.OW;
        if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PadH == 0 && g.PadW == 0 && 2 * oH <= g.H && 2 * oW <= w)
        {
            MaxForward2x2(x, y, argmax, w, oH, oW);
            return;
        }
        int[] rs = win.RowStart, re = win.RowEnd, cs = win.ColStart, ce = win.ColEnd;
        int sw = g.SW, kw = g.KW, pw = g.PadW;
        // Blocks of 8 windows may start anywhere in [vLo, vHi]; the last block is shifted left to end at vHi + 8 and
        // recomputes a few windows with identical results. Border windows fall back to the scalar loop.
        int vLo = (pw + sw - 1) / sw, vHi = oW - 8;
        while (vHi >= vLo && !PoolColumns.CanVectorizeColumns(vHi, oW, sw, kw, pw, w)) vHi--;
        for (int oh = 0; oh < oH; oh++)
        {
            int hs = rs[oh], he = re[oh];
            int vEnd = vLo;
            if (vHi >= vLo)
            {
                for (int ow0 = vLo; ow0 <= vHi + 7; ow0 += 8)
                {
                    int ow = Math.Min(ow0, vHi);
                    MaxForward8(x, y + oh * oW + ow, argmax + oh * oW + ow, w, hs, he, ow * sw - pw, sw, kw);
                }
                vEnd = vHi + 8;
            }
            for (int ow = 0; ow < oW; ow++)
            {
                if (ow == vLo && vEnd > vLo) ow = vEnd;
                if (ow >= oW) break;
                int ws = cs[ow], we = ce[ow];
                int best = hs * w + ws;
                float max = x[best];
                for (int h = hs; h < he; h++)
                {
                    float* row = x + h * w;
                    for (int c = ws; c < we; c++) StepScalar(ref max, ref best, row[c], h * w + c);
                }
                y[oh * oW + ow] = max;
                argmax[oh * oW + ow] = best;
            }
        }
    }

    /// <summary>
    /// Eight horizontally adjacent windows of one output row, all inside the row: rows [hs, he), first column of
    /// window j at col0 + j*stride, kw columns each. Candidates are visited in row-major window order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxForward8(float* x, float* y, int* argmax, int w, int hs, int he, int col0, int stride, int kw)
    {
        var evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var laneOffsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * stride;
        var max = PoolColumns.LoadColumns(x + hs * w, col0, stride, evenOdd);
        var best = Vector256.Create(hs * w + col0) + laneOffsets;
        for (int h = hs; h < he; h++)
        {
            float* row = x + h * w;
            int rowBase = h * w + col0;
            if (stride == 2)
            {
                // One even/odd split serves window columns k and k + 1.
                for (int k = 0; k < kw; k += 2)
                {
                    var (even, odd) = PoolColumns.SplitEvenOdd(row + col0 + k, evenOdd);
                    if (h != hs || k != 0) Step(ref max, ref best, even, Vector256.Create(rowBase + k) + laneOffsets);
                    if (k + 1 < kw) Step(ref max, ref best, odd, Vector256.Create(rowBase + k + 1) + laneOffsets);
                }
                continue;
            }
            for (int k = h == hs ? 1 : 0; k < kw; k++)
                Step(ref max, ref best, PoolColumns.LoadColumns(row, col0 + k, stride, evenOdd), Vector256.Create(rowBase + k) + laneOffsets);
        }
        max.Store(y);
        best.Store(argmax);
    }

    /// <summary>
    /// The common 2x2, stride-2, unpadded case with every window inside the plane; same tie and NaN rules. Eight windows
    /// at a time: the two input rows are split into even and odd columns, and the four candidates are compared in
    /// row-major order with branch-free selects (data-dependent branches mispredict on random activations).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxForward2x2(float* x, float* y, int* argmax, int w, int oH, int oW)
    {
        var evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var lane2 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        for (int oh = 0; oh < oH; oh++)
        {
            float* r0 = x + 2 * oh * w;
            float* r1 = r0 + w;
            int base0 = 2 * oh * w;
            float* yRow = y + oh * oW;
            int* aRow = argmax + oh * oW;
            for (int ow0 = 0; ow0 < oW; ow0 += 8)
            {
                if (oW < 8) break;
                // The last block is shifted left to end at oW; it recomputes a few windows with identical results.
                int ow = Math.Min(ow0, oW - 8);
                int c = 2 * ow;
                var (a, b) = PoolColumns.SplitEvenOdd(r0 + c, evenOdd);
                var (cc, d) = PoolColumns.SplitEvenOdd(r1 + c, evenOdd);
                var idx = Vector256.Create(base0 + c) + lane2;
                var max = a;
                var best = idx;
                Step(ref max, ref best, b, idx + Vector256<int>.One);
                Step(ref max, ref best, cc, idx + Vector256.Create(w));
                Step(ref max, ref best, d, idx + Vector256.Create(w + 1));
                max.Store(yRow + ow);
                best.Store(aRow + ow);
            }
            for (int ow = 0; oW < 8 && ow < oW; ow++)
            {
                int c = 2 * ow;
                float max = r0[c];
                int best = base0 + c;
                StepScalar(ref max, ref best, r0[c + 1], base0 + c + 1);
                StepScalar(ref max, ref best, r1[c], base0 + w + c);
                StepScalar(ref max, ref best, r1[c + 1], base0 + w + c + 1);
                yRow[ow] = max;
                aRow[ow] = best;
            }
        }
    }

    /// <summary>Takes candidate v when !(v &lt;= max) and max is not already NaN: strictly greater, or the first NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Vector256<float> max, ref Vector256<int> best, Vector256<float> v, Vector256<int> index)
    {
        var take = ~Vector256.LessThanOrEqual(v, max) & Vector256.Equals(max, max);
        max = Vector256.ConditionalSelect(take, v, max);
        best = Vector256.ConditionalSelect(take.AsInt32(), index, best);
    }

    /// <summary>Scalar <see cref="Step"/>, branch-free: random activations make the comparison unpredictable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StepScalar(ref float max, ref int best, float v, int index)
    {
        int take = -((!(v <= max) & !float.IsNaN(max)) ? 1 : 0);
        max = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(v) & take) | (BitConverter.SingleToInt32Bits(max) & ~take));
        best = (index & take) | (best & ~take);
    }

    /// <summary>Max-pool backward of one plane as a gather: dX[h, w] = sum of dY over the windows whose argmax is h*W + w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxBackwardPlane(float* dy, int* argmax, float* dx, Pool2dGeometry g, PoolWindows win)
    {
        if (g.SH >= g.KH && g.SW >= g.KW)
        {
            MaxBackwardDisjoint(dy, argmax, dx, g, win);
            return;
        }
        if (MaxPoolGather3x3.Applies(g))
        {
            MaxPoolGather3x3.Plane(dy, argmax, dx, g, win, (h, w) => GatherOne(dy, argmax, g, win, h, w));
            return;
        }
        int hIn = g.H, wIn = g.W;
        int[] rLo = win.RowCoverLo, rHi = win.RowCoverHi;
        var plan = win.GatherColumns;
        for (int h = 0; h < hIn; h++)
        {
            if (plan is null)
            {
                for (int w = 0; w < wIn; w++) dx[h * wIn + w] = GatherOne(dy, argmax, g, win, h, w);
                continue;
            }
            for (int b = 0; b < plan.BlockStart.Length; b++)
            {
                int w0 = plan.BlockStart[b], bse = plan.BlockBase[b];
                if (bse < 0)
                {
                    for (int w = w0; w < w0 + 8; w++) dx[h * wIn + w] = GatherOne(dy, argmax, g, win, h, w);
                    continue;
                }
                Gather8(dy, argmax, dx + h * wIn + w0, g.OW, h * wIn + w0, rLo[h], rHi[h], plan, w0, bse, wIn);
            }
        }
    }

    /// <summary>
    /// dX[h, w] for one element: dY summed over the windows (row-major) whose argmax is h*W + w. Branch-free: a window
    /// that chose another element adds +0, which leaves the sum's bits unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float GatherOne(float* dy, int* argmax, Pool2dGeometry g, PoolWindows win, int h, int w)
    {
        int oW = g.OW, me = h * g.W + w;
        int owLo = win.ColCoverLo[w], owHi = win.ColCoverHi[w];
        float sum = 0f;
        for (int oh = win.RowCoverLo[h]; oh <= win.RowCoverHi[h]; oh++)
            for (int ow = owLo; ow <= owHi; ow++)
            {
                int o = oh * oW + ow;
                sum += BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(dy[o]) & -(argmax[o] == me ? 1 : 0));
            }
        return sum;
    }

    /// <summary>
    /// <see cref="GatherOne"/> for eight adjacent columns: per window row, one load of dY and argmax at [bse, bse + 8)
    /// and a lane shuffle per slot; absent slots and windows that chose another element add +0, in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather8(float* dy, int* argmax, float* dxRow, int oW, int me0, int ohLo, int ohHi,
        PoolGatherColumns plan, int w0, int bse, int wIn)
    {
        var me = Vector256.Create(me0) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var vBase = Vector256.Create(bse);
        var sum = Vector256<float>.Zero;
        for (int oh = ohLo; oh <= ohHi; oh++)
        {
            var d8 = Vector256.Load(dy + oh * oW + bse);
            var a8 = Vector256.Load(argmax + oh * oW + bse);
            for (int j = 0; j < plan.Slots; j++)
            {
                fixed (int* idxRow = &plan.Index[j * wIn + w0])
                {
                    var idx = Vector256.Load(idxRow);
                    var present = Vector256.GreaterThanOrEqual(idx, Vector256<int>.Zero);
                    var rel = (idx - vBase) & present;
                    var hit = present & Vector256.Equals(Vector256.Shuffle(a8, rel), me);
                    sum += Vector256.Shuffle(d8, rel) & hit.AsSingle();
                }
            }
        }
        sum.Store(dxRow);
    }

    /// <summary>
    /// Max-pool backward when windows do not overlap (stride &gt;= kernel): every input element lies in at most one window,
    /// so its sum has at most one term and no search is needed. 2x2 stride 2 writes every element in one vector pass;
    /// other kernels clear the plane and scatter each window's dY to its argmax.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxBackwardDisjoint(float* dy, int* argmax, float* dx, Pool2dGeometry g, PoolWindows win)
    {
        int wIn = g.W, oH = g.OH, oW = g.OW;
        if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PadH == 0 && g.PadW == 0 && 2 * oH <= g.H && 2 * oW <= wIn && oW >= 8)
        {
            if (2 * oH < g.H || 2 * oW < wIn) new Span<float>(dx, g.H * wIn).Clear(); // a last row or column no window covers
            MaxBackward2x2(dy, argmax, dx, wIn, oH, oW);
            return;
        }
        // Direct scatter: the plane is cleared and each window's argmax receives 0 + dY (the + 0 turns -0 into +0, the
        // same bits as the gather's sum starting from +0). An argmax outside its own window (not one the forward pass
        // wrote) is ignored, as the gather ignores it, so no write can leave the plane.
        new Span<float>(dx, g.H * wIn).Clear();
        int[] rs = win.RowStart, re = win.RowEnd, cs = win.ColStart, ce = win.ColEnd;
        for (int oh = 0; oh < oH; oh++)
            for (int ow = 0; ow < oW; ow++)
            {
                int o = oh * oW + ow, a = argmax[o];
                if (a < 0) continue;
                int h = a / wIn, c = a - h * wIn;
                if (h >= rs[oh] && h < re[oh] && c >= cs[ow] && c < ce[ow]) dx[a] = 0f + dy[o];
            }
    }

    /// <summary>
    /// 2x2 stride-2 disjoint gather, eight windows (sixteen input columns) at a time: each window's dY and argmax are
    /// duplicated to its two columns, and every input element keeps 0 + dY where it is the argmax, else 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxBackward2x2(float* dy, int* argmax, float* dx, int w, int oH, int oW)
    {
        var lowPairs = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
        var highPairs = Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7);
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        for (int oh = 0; oh < oH; oh++)
        {
            float* d0 = dx + 2 * oh * w;
            int base0 = 2 * oh * w;
            for (int ow0 = 0; ow0 < oW; ow0 += 8)
            {
                int ow = Math.Min(ow0, oW - 8); // the last block is shifted left; rewrites identical values
                int o = oh * oW + ow;
                var g8 = Vector256.Load(dy + o);
                var a8 = Vector256.Load(argmax + o);
                var gLo = Vector256.Shuffle(g8, lowPairs);
                var gHi = Vector256.Shuffle(g8, highPairs);
                var aLo = Vector256.Shuffle(a8, lowPairs);
                var aHi = Vector256.Shuffle(a8, highPairs);
                int c = 2 * ow;
                var me = Vector256.Create(base0 + c) + lanes;
                var me8 = me + Vector256.Create(8);
                var meW = me + Vector256.Create(w);
                var meW8 = me8 + Vector256.Create(w);
                (Vector256<float>.Zero + (gLo & Vector256.Equals(aLo, me).AsSingle())).Store(d0 + c);
                (Vector256<float>.Zero + (gHi & Vector256.Equals(aHi, me8).AsSingle())).Store(d0 + c + 8);
                (Vector256<float>.Zero + (gLo & Vector256.Equals(aLo, meW).AsSingle())).Store(d0 + w + c);
                (Vector256<float>.Zero + (gHi & Vector256.Equals(aHi, meW8).AsSingle())).Store(d0 + w + c + 8);
            }
        }
    }
}
