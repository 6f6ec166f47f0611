using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// The pixel-lane variant of <see cref="SmallChannelConv"/>, for stride-1 layers with very few output channels (LeNet C1:
/// 1 -> 6): the vector lanes run over 32 adjacent output pixels of a row (two vectors), one accumulator pair per output
/// channel (up to 12), so no lane is wasted on absent channels.
/// <list type="bullet">
/// <item>forward: every tap adds broadcast(W[k, tap]) * x[row + tap offset .. + 32) for each k;</item>
/// <item>backward-weights: per block of 2 taps x up to 12 channels, every (row, 32-pixel segment) adds
/// x[segment + tap offset] * dY[k, segment]; the 16 lanes of each accumulator are summed in a fixed order at the end.</item>
/// </list>
/// Input rows come from a zero-padded copy whose width covers whole 32-pixel segments, so loads need no masks; pixels
/// past the output width are computed and dropped (forward) or meet zeros in the padded dY (backward-weights).
/// </summary>
internal static unsafe class SmallChannelRows
{
    /// <summary>Pixels per segment (two vectors).</summary>
    public const int Segment = 32;

    /// <summary>Most output channels per pass (two accumulators each).</summary>
    public const int MaxChannels = 12;

    /// <summary>Output segments of a row of <paramref name="ow"/> pixels.</summary>
    public static int Segments(int ow) => (ow + Segment - 1) / Segment;

    /// <summary>
    /// Forward of one sample: <paramref name="xp"/> holds cin padded planes (hp x wp, wp &gt;= 32 * segments + dw(kw - 1)),
    /// <paramref name="wt"/> is taps x 16 (W[k, tap] at wt[tap * 16 + k]), <paramref name="tapOffsets"/> the tap offsets
    /// into a plane-stack; writes y (cout planes oh x ow), adding <paramref name="bias"/> when not null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(float* xp, int wp, float* wt, int taps, int* tapOffsets, float* bias, float* y, int cout, int oh, int ow, float* tmp)
    {
        for (int k0 = 0; k0 < cout; k0 += MaxChannels)
        {
            int kb = Math.Min(MaxChannels, cout - k0);
            for (int row = 0; row < oh; row++)
                for (int seg = 0; seg * Segment < ow; seg++)
                {
                    ForwardSegment(kb, xp + (long)row * wp + seg * Segment, wt + k0, taps, tapOffsets, tmp);
                    int count = Math.Min(Segment, ow - seg * Segment);
                    for (int k = 0; k < kb; k++)
                    {
                        float* dst = y + ((long)(k0 + k) * oh + row) * ow + seg * Segment;
                        if (bias != null) VectorRuns.AddScalar(tmp + k * Segment, bias[k0 + k], count);
                        VectorRuns.Copy(tmp + k * Segment, dst, count);
                    }
                }
        }
    }

    private static void ForwardSegment(int kb, float* x, float* w, int taps, int* offs, float* tmp)
    {
        switch (kb)
        {
            case 1: ForwardSegment<R1>(x, w, taps, offs, tmp); break;
            case 2: ForwardSegment<R2>(x, w, taps, offs, tmp); break;
            case 3: ForwardSegment<R3>(x, w, taps, offs, tmp); break;
            case 4: ForwardSegment<R4>(x, w, taps, offs, tmp); break;
            case 5: ForwardSegment<R5>(x, w, taps, offs, tmp); break;
            case 6: ForwardSegment<R6>(x, w, taps, offs, tmp); break;
            case 7: ForwardSegment<R7>(x, w, taps, offs, tmp); break;
            case 8: ForwardSegment<R8>(x, w, taps, offs, tmp); break;
            case 9: ForwardSegment<R9>(x, w, taps, offs, tmp); break;
            case 10: ForwardSegment<R10>(x, w, taps, offs, tmp); break;
            case 11: ForwardSegment<R11>(x, w, taps, offs, tmp); break;
            case 12: ForwardSegment<R12>(x, w, taps, offs, tmp); break;
            default: throw new ArgumentOutOfRangeException(nameof(kb));
        }
    }

    // tmp[k * 32 .. + 32) = sum over taps of W[k, tap] * x[offs[tap] .. + 32), for k < TK.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardSegment<TK>(float* x, float* w, int taps, int* offs, float* tmp) where TK : struct, IRowCount
    {
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default;
        Vector512<float> a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default;
        Vector512<float> a6 = default, b6 = default, a7 = default, b7 = default, a8 = default, b8 = default;
        Vector512<float> a9 = default, b9 = default, a10 = default, b10 = default, a11 = default, b11 = default;
        for (int t = 0; t < taps; t++)
        {
            float* xs = x + offs[t];
            float* wk = w + t * 16;
            var x0 = Vector512.Load(xs);
            var x1 = Vector512.Load(xs + 16);
            { var c = Vector512.Create(wk[0]); a0 = Avx512F.FusedMultiplyAdd(c, x0, a0); b0 = Avx512F.FusedMultiplyAdd(c, x1, b0); }
            if (TK.Value > 1) { var c = Vector512.Create(wk[1]); a1 = Avx512F.FusedMultiplyAdd(c, x0, a1); b1 = Avx512F.FusedMultiplyAdd(c, x1, b1); }
            if (TK.Value > 2) { var c = Vector512.Create(wk[2]); a2 = Avx512F.FusedMultiplyAdd(c, x0, a2); b2 = Avx512F.FusedMultiplyAdd(c, x1, b2); }
            if (TK.Value > 3) { var c = Vector512.Create(wk[3]); a3 = Avx512F.FusedMultiplyAdd(c, x0, a3); b3 = Avx512F.FusedMultiplyAdd(c, x1, b3); }
            if (TK.Value > 4) { var c = Vector512.Create(wk[4]); a4 = Avx512F.FusedMultiplyAdd(c, x0, a4); b4 = Avx512F.FusedMultiplyAdd(c, x1, b4); }
            if (TK.Value > 5) { var c = Vector512.Create(wk[5]); a5 = Avx512F.FusedMultiplyAdd(c, x0, a5); b5 = Avx512F.FusedMultiplyAdd(c, x1, b5); }
            if (TK.Value > 6) { var c = Vector512.Create(wk[6]); a6 = Avx512F.FusedMultiplyAdd(c, x0, a6); b6 = Avx512F.FusedMultiplyAdd(c, x1, b6); }
            if (TK.Value > 7) { var c = Vector512.Create(wk[7]); a7 = Avx512F.FusedMultiplyAdd(c, x0, a7); b7 = Avx512F.FusedMultiplyAdd(c, x1, b7); }
            if (TK.Value > 8) { var c = Vector512.Create(wk[8]); a8 = Avx512F.FusedMultiplyAdd(c, x0, a8); b8 = Avx512F.FusedMultiplyAdd(c, x1, b8); }
            if (TK.Value > 9) { var c = Vector512.Create(wk[9]); a9 = Avx512F.FusedMultiplyAdd(c, x0, a9); b9 = Avx512F.FusedMultiplyAdd(c, x1, b9); }
            if (TK.Value > 10) { var c = Vector512.Create(wk[10]); a10 = Avx512F.FusedMultiplyAdd(c, x0, a10); b10 = Avx512F.FusedMultiplyAdd(c, x1, b10); }
            if (TK.Value > 11) { var c = Vector512.Create(wk[11]); a11 = Avx512F.FusedMultiplyAdd(c, x0, a11); b11 = Avx512F.FusedMultiplyAdd(c, x1, b11); }
        }
        a0.Store(tmp); b0.Store(tmp + 16);
        if (TK.Value > 1) { a1.Store(tmp + 32); b1.Store(tmp + 48); }
        if (TK.Value > 2) { a2.Store(tmp + 64); b2.Store(tmp + 80); }
        if (TK.Value > 3) { a3.Store(tmp + 96); b3.Store(tmp + 112); }
        if (TK.Value > 4) { a4.Store(tmp + 128); b4.Store(tmp + 144); }
        if (TK.Value > 5) { a5.Store(tmp + 160); b5.Store(tmp + 176); }
        if (TK.Value > 6) { a6.Store(tmp + 192); b6.Store(tmp + 208); }
        if (TK.Value > 7) { a7.Store(tmp + 224); b7.Store(tmp + 240); }
        if (TK.Value > 8) { a8.Store(tmp + 256); b8.Store(tmp + 272); }
        if (TK.Value > 9) { a9.Store(tmp + 288); b9.Store(tmp + 304); }
        if (TK.Value > 10) { a10.Store(tmp + 320); b10.Store(tmp + 336); }
        if (TK.Value > 11) { a11.Store(tmp + 352); b11.Store(tmp + 368); }
    }

    /// <summary>
    /// Backward-weights sums of one sample for output channels [0, cout): acc[(tap * cout + k) * 16 .. + 16) (lane sums,
    /// read and written back) += x[row segment + tapOffsets[tap]] * dyp[k, row segment], where <paramref name="dyp"/> is
    /// dY padded to rows of 32 * segments (zeros past ow) and <paramref name="xp"/> the padded input as in forward.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightSums(float* xp, int wp, float* dyp, int dyRow, int oh, int segments, int cout, int taps, int* tapOffsets, float* acc)
    {
        for (int t = 0; t < taps; t++)
            for (int k0 = 0; k0 < cout; k0 += MaxChannels)
                WeightTap(Math.Min(MaxChannels, cout - k0), xp + tapOffsets[t], wp, dyp + (long)k0 * oh * dyRow, oh * dyRow,
                    dyRow, oh, segments, acc + ((long)t * cout + k0) * 16);
    }

    private static void WeightTap(int kb, float* x, int wp, float* dy, long dyPlane, int dyRow, int oh, int segments, float* acc)
    {
        switch (kb)
        {
            case 1: WeightTap<R1>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 2: WeightTap<R2>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 3: WeightTap<R3>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 4: WeightTap<R4>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 5: WeightTap<R5>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 6: WeightTap<R6>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 7: WeightTap<R7>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 8: WeightTap<R8>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 9: WeightTap<R9>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 10: WeightTap<R10>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 11: WeightTap<R11>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            case 12: WeightTap<R12>(x, wp, dy, dyPlane, dyRow, oh, segments, acc); break;
            default: throw new ArgumentOutOfRangeException(nameof(kb));
        }
    }

    // One tap, TK output channels: two accumulators per channel (the two 16-pixel halves of a segment), added together
    // into the lane sums at the end (a fixed order).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTap<TK>(float* x, int wp, float* dy, long dyPlane, int dyRow, int oh, int segments, float* acc)
        where TK : struct, IRowCount
    {
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default;
        Vector512<float> a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default;
        Vector512<float> a6 = default, b6 = default, a7 = default, b7 = default, a8 = default, b8 = default;
        Vector512<float> a9 = default, b9 = default, a10 = default, b10 = default, a11 = default, b11 = default;
        for (int row = 0; row < oh; row++)
            for (int seg = 0; seg < segments; seg++)
            {
                float* xs = x + (long)row * wp + seg * Segment;
                float* d = dy + (long)row * dyRow + seg * Segment;
                var x0 = Vector512.Load(xs);
                var x1 = Vector512.Load(xs + 16);
                a0 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a0); b0 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b0);
                if (TK.Value > 1) { d += dyPlane; a1 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a1); b1 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b1); }
                if (TK.Value > 2) { d += dyPlane; a2 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a2); b2 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b2); }
                if (TK.Value > 3) { d += dyPlane; a3 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a3); b3 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b3); }
                if (TK.Value > 4) { d += dyPlane; a4 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a4); b4 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b4); }
                if (TK.Value > 5) { d += dyPlane; a5 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a5); b5 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b5); }
                if (TK.Value > 6) { d += dyPlane; a6 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a6); b6 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b6); }
                if (TK.Value > 7) { d += dyPlane; a7 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a7); b7 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b7); }
                if (TK.Value > 8) { d += dyPlane; a8 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a8); b8 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b8); }
                if (TK.Value > 9) { d += dyPlane; a9 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a9); b9 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b9); }
                if (TK.Value > 10) { d += dyPlane; a10 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a10); b10 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b10); }
                if (TK.Value > 11) { d += dyPlane; a11 = Avx512F.FusedMultiplyAdd(x0, Vector512.Load(d), a11); b11 = Avx512F.FusedMultiplyAdd(x1, Vector512.Load(d + 16), b11); }
            }
        Add(acc, a0 + b0);
        if (TK.Value > 1) Add(acc + 16, a1 + b1);
        if (TK.Value > 2) Add(acc + 32, a2 + b2);
        if (TK.Value > 3) Add(acc + 48, a3 + b3);
        if (TK.Value > 4) Add(acc + 64, a4 + b4);
        if (TK.Value > 5) Add(acc + 80, a5 + b5);
        if (TK.Value > 6) Add(acc + 96, a6 + b6);
        if (TK.Value > 7) Add(acc + 112, a7 + b7);
        if (TK.Value > 8) Add(acc + 128, a8 + b8);
        if (TK.Value > 9) Add(acc + 144, a9 + b9);
        if (TK.Value > 10) Add(acc + 160, a10 + b10);
        if (TK.Value > 11) Add(acc + 176, a11 + b11);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* acc, Vector512<float> v) => (Vector512.Load(acc) + v).Store(acc);
}
