// The unrolled accumulator lists (14 channels x 2 rows) were first emitted by a small script, now plain source; rows and
// channels beyond TR.Value / TC.Value are removed by the JIT because both are struct type parameters with constant Values.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Backward-data of stride-1 convolutions with few input channels (LeNet C3: 16 -> 6 maps, 10x10 -> 14x14), with the
/// 16 vector lanes over 16 adjacent dX pixels of a row and one accumulator per input channel and row, two rows at a time:
/// <code>
/// dX[c, ih, iw] = sum over k, r, s of dY[k, ih + PT - r*DH, iw + PL - s*DW] * W[k, c, r, s]   (dY outside its plane = 0)
/// </code>
/// Every loaded dY vector (one k, one tap row, one tap column, 16 pixels) feeds C multiply-adds per row, each with a
/// broadcast weight; there is no im2col, no col2im and no GEMM with a 16-deep reduction. dY is first copied into a
/// zero-padded stack of planes (DH(KH-1) zero rows above and below, DW(KW-1) - PL zero columns on the left, zeros up to
/// whole 16-pixel segments on the right), so the loops need no bounds checks: a pair of rows loops over the union of the
/// tap rows valid for either row, and a tap row that is outside dY for one of them reads zeros. Lanes past the row's end
/// are computed and not stored.
/// Each dX element is summed by one thread in the fixed order (k, r, s), so the bits depend only on the geometry and the
/// instruction set, not on the thread count.
/// </summary>
internal static unsafe class PixelRowsBackwardData
{
    /// <summary>Pixels per segment (one AVX-512 vector).</summary>
    public const int Segment = 16;

    /// <summary>Most input channels (accumulators per row).</summary>
    public const int MaxChannels = 14;

    /// <summary>
    /// Whether the kernel can compute this geometry's backward-data: AVX-512F, one group, stride 1, at most 14 input
    /// channels, and padding no wider than the dilated kernel (PT &lt;= DH(KH-1), PL &lt;= DW(KW-1)).
    /// </summary>
    public static bool Supports(Conv2dGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && g.SH == 1 && g.SW == 1 && g.C <= MaxChannels &&
        g.PadTop <= g.DH * (g.KH - 1) && g.PadLeft <= g.DW * (g.KW - 1);

    /// <summary>Columns of one padded dY row: whole segments of dX plus the kernel's reach to the left.</summary>
    public static int RowLength(Conv2dGeometry g) => Segment * Segments(g.W) + g.DW * (g.KW - 1);

    /// <summary>Rows of one padded dY plane: DH(KH-1) zero rows above and below.</summary>
    public static int PaddedRows(Conv2dGeometry g) => g.OH + 2 * g.DH * (g.KH - 1);

    /// <summary>Floats of the padded dY stack of one sample.</summary>
    public static long PaddedFloats(Conv2dGeometry g) => (long)g.K * PaddedRows(g) * RowLength(g);

    /// <summary>
    /// The weights rearranged so the C values broadcast for one (k, r, s) are adjacent: wr[((k*KH + r)*KW + s)*C + c] =
    /// W[k, c, r, s] (K*C*KH*KW floats).
    /// </summary>
    public static void ArrangeWeights(float* w, Conv2dGeometry g, float* wr)
    {
        int taps = g.KH * g.KW;
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
                for (int t = 0; t < taps; t++)
                    wr[((long)k * taps + t) * g.C + c] = w[((long)k * g.C + c) * taps + t];
    }

    /// <summary>
    /// dX of one sample: <paramref name="dy"/> (K planes OH x OW) is copied into <paramref name="dyp"/>
    /// (<see cref="PaddedFloats"/>), then every pair of dX rows and every 16-pixel segment is computed from it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sample(float* dy, float* wr, float* dx, Conv2dGeometry g, float* dyp)
    {
        int top = g.DH * (g.KH - 1), rowLen = RowLength(g), rows = PaddedRows(g);
        SmallChannelConv.PadPlanes(dy, g.K, g.OH, g.OW, top, g.DW * (g.KW - 1) - g.PadLeft, dyp, rows, rowLen);
        long plane = (long)rows * rowLen, dxPlane = (long)g.H * g.W;
        int segments = Segments(g.W);
        for (int ih = 0; ih < g.H; ih += 2)
        {
            int pair = Math.Min(2, g.H - ih);
            // Tap rows valid for row ih + i: 0 <= ih + i + PT - r*DH < OH; the pair loops over the union.
            int rLo = FirstValidTapRow(ih, g), rHi = LastValidTapRow(ih + pair - 1, g);
            // dY row of (ih, r) in the padded stack: top + ih + PT - r*DH; segment columns shifted by DW(KW-1).
            float* rowBase = dyp + (long)(top + ih + g.PadTop) * rowLen + g.DW * (g.KW - 1);
            for (int seg = 0; seg < segments; seg++)
            {
                int lanes = Math.Min(Segment, g.W - seg * Segment);
                var mask = Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(lanes)).AsSingle();
                Run(g.C, pair, rowBase + seg * Segment, plane, g.K, rLo, rHi, g.KH, g.KW, rowLen, g.DH * rowLen, g.DW, wr,
                    dx + (long)ih * g.W + seg * Segment, dxPlane, g.W, mask);
            }
        }
    }

    /// <summary>First tap row r with ih + PT - r*DH &lt; OH (0 if none is excluded).</summary>
    private static int FirstValidTapRow(int ih, Conv2dGeometry g)
    {
        int excess = ih + g.PadTop - g.OH; // r*DH must exceed this
        return excess < 0 ? 0 : Math.Min(g.KH, excess / g.DH + 1);
    }

    /// <summary>Last tap row r with ih + PT - r*DH &gt;= 0.</summary>
    private static int LastValidTapRow(int ih, Conv2dGeometry g) => Math.Min(g.KH - 1, (ih + g.PadTop) / g.DH);

    private static int Segments(int w) => (w + Segment - 1) / Segment;

    private static void Run(int channels, int rows, float* dy, long plane, int kCount, int rLo, int rHi, int kh, int kw,
        int rowLen, int rowStep, int dw, float* wr, float* dx, long dxPlane, int dxRow, Vector512<float> mask)
    {
        switch (channels)
        {
            case 1: if (rows == 2) Block<R1, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R1, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 2: if (rows == 2) Block<R2, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R2, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 3: if (rows == 2) Block<R3, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R3, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 4: if (rows == 2) Block<R4, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R4, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 5: if (rows == 2) Block<R5, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R5, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 6: if (rows == 2) Block<R6, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R6, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 7: if (rows == 2) Block<R7, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R7, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 8: if (rows == 2) Block<R8, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R8, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 9: if (rows == 2) Block<R9, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R9, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 10: if (rows == 2) Block<R10, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R10, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 11: if (rows == 2) Block<R11, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R11, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 12: if (rows == 2) Block<R12, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R12, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 13: if (rows == 2) Block<R13, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R13, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            case 14: if (rows == 2) Block<R14, R2>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); else Block<R14, R1>(dy, plane, kCount, rLo, rHi, kh, kw, rowLen, rowStep, dw, wr, dx, dxPlane, dxRow, mask); break;
            default: throw new ArgumentOutOfRangeException(nameof(channels));
        }
    }

    // One segment of one or two dX rows for TC input channels: accumulators a (row ih) and b (row ih + 1) per channel.
    // dy points at (k = 0, tap row 0, tap column 0) for row ih: the tap (r, s) of plane k is at dy + k*plane - r*rowStep - s*dw
    // (rowStep = DH padded rows); row ih + 1 reads one padded row (rowLen) further.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TC, TR>(float* dy, long plane, int kCount, int rLo, int rHi, int kh, int kw, int rowLen, int rowStep,
        int dw, float* wr, float* dx, long dxPlane, int dxRow, Vector512<float> mask)
        where TC : struct, IRowCount where TR : struct, IRowCount
    {
        int c = TC.Value;
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default;
        Vector512<float> a7 = default, b7 = default, a8 = default, b8 = default, a9 = default, b9 = default, a10 = default, b10 = default, a11 = default, b11 = default, a12 = default, b12 = default, a13 = default, b13 = default;
        int rowSpan = kw * c;
        for (int k = 0; k < kCount; k++)
            for (int r = rLo; r <= rHi; r++)
            {
                float* d = dy + k * plane - (long)r * rowStep;
                float* wv = wr + ((long)k * kh + r) * rowSpan;
                for (int s = 0; s < kw; s++, d -= dw, wv += c)
                {
                    var v0 = Vector512.Load(d);
                    var v1 = TR.Value > 1 ? Vector512.Load(d + rowLen) : default;
                    { var f = Vector512.Create(wv[0]); a0 = Avx512F.FusedMultiplyAdd(f, v0, a0); if (TR.Value > 1) b0 = Avx512F.FusedMultiplyAdd(f, v1, b0); }
                    if (TC.Value > 1) { var f = Vector512.Create(wv[1]); a1 = Avx512F.FusedMultiplyAdd(f, v0, a1); if (TR.Value > 1) b1 = Avx512F.FusedMultiplyAdd(f, v1, b1); }
                    if (TC.Value > 2) { var f = Vector512.Create(wv[2]); a2 = Avx512F.FusedMultiplyAdd(f, v0, a2); if (TR.Value > 1) b2 = Avx512F.FusedMultiplyAdd(f, v1, b2); }
                    if (TC.Value > 3) { var f = Vector512.Create(wv[3]); a3 = Avx512F.FusedMultiplyAdd(f, v0, a3); if (TR.Value > 1) b3 = Avx512F.FusedMultiplyAdd(f, v1, b3); }
                    if (TC.Value > 4) { var f = Vector512.Create(wv[4]); a4 = Avx512F.FusedMultiplyAdd(f, v0, a4); if (TR.Value > 1) b4 = Avx512F.FusedMultiplyAdd(f, v1, b4); }
                    if (TC.Value > 5) { var f = Vector512.Create(wv[5]); a5 = Avx512F.FusedMultiplyAdd(f, v0, a5); if (TR.Value > 1) b5 = Avx512F.FusedMultiplyAdd(f, v1, b5); }
                    if (TC.Value > 6) { var f = Vector512.Create(wv[6]); a6 = Avx512F.FusedMultiplyAdd(f, v0, a6); if (TR.Value > 1) b6 = Avx512F.FusedMultiplyAdd(f, v1, b6); }
                    if (TC.Value > 7) { var f = Vector512.Create(wv[7]); a7 = Avx512F.FusedMultiplyAdd(f, v0, a7); if (TR.Value > 1) b7 = Avx512F.FusedMultiplyAdd(f, v1, b7); }
                    if (TC.Value > 8) { var f = Vector512.Create(wv[8]); a8 = Avx512F.FusedMultiplyAdd(f, v0, a8); if (TR.Value > 1) b8 = Avx512F.FusedMultiplyAdd(f, v1, b8); }
                    if (TC.Value > 9) { var f = Vector512.Create(wv[9]); a9 = Avx512F.FusedMultiplyAdd(f, v0, a9); if (TR.Value > 1) b9 = Avx512F.FusedMultiplyAdd(f, v1, b9); }
                    if (TC.Value > 10) { var f = Vector512.Create(wv[10]); a10 = Avx512F.FusedMultiplyAdd(f, v0, a10); if (TR.Value > 1) b10 = Avx512F.FusedMultiplyAdd(f, v1, b10); }
                    if (TC.Value > 11) { var f = Vector512.Create(wv[11]); a11 = Avx512F.FusedMultiplyAdd(f, v0, a11); if (TR.Value > 1) b11 = Avx512F.FusedMultiplyAdd(f, v1, b11); }
                    if (TC.Value > 12) { var f = Vector512.Create(wv[12]); a12 = Avx512F.FusedMultiplyAdd(f, v0, a12); if (TR.Value > 1) b12 = Avx512F.FusedMultiplyAdd(f, v1, b12); }
                    if (TC.Value > 13) { var f = Vector512.Create(wv[13]); a13 = Avx512F.FusedMultiplyAdd(f, v0, a13); if (TR.Value > 1) b13 = Avx512F.FusedMultiplyAdd(f, v1, b13); }
                }
            }
        { Avx512F.MaskStore(dx + 0 * dxPlane, mask, a0); if (TR.Value > 1) Avx512F.MaskStore(dx + 0 * dxPlane + dxRow, mask, b0); }
        if (TC.Value > 1) { Avx512F.MaskStore(dx + 1 * dxPlane, mask, a1); if (TR.Value > 1) Avx512F.MaskStore(dx + 1 * dxPlane + dxRow, mask, b1); }
        if (TC.Value > 2) { Avx512F.MaskStore(dx + 2 * dxPlane, mask, a2); if (TR.Value > 1) Avx512F.MaskStore(dx + 2 * dxPlane + dxRow, mask, b2); }
        if (TC.Value > 3) { Avx512F.MaskStore(dx + 3 * dxPlane, mask, a3); if (TR.Value > 1) Avx512F.MaskStore(dx + 3 * dxPlane + dxRow, mask, b3); }
        if (TC.Value > 4) { Avx512F.MaskStore(dx + 4 * dxPlane, mask, a4); if (TR.Value > 1) Avx512F.MaskStore(dx + 4 * dxPlane + dxRow, mask, b4); }
        if (TC.Value > 5) { Avx512F.MaskStore(dx + 5 * dxPlane, mask, a5); if (TR.Value > 1) Avx512F.MaskStore(dx + 5 * dxPlane + dxRow, mask, b5); }
        if (TC.Value > 6) { Avx512F.MaskStore(dx + 6 * dxPlane, mask, a6); if (TR.Value > 1) Avx512F.MaskStore(dx + 6 * dxPlane + dxRow, mask, b6); }
        if (TC.Value > 7) { Avx512F.MaskStore(dx + 7 * dxPlane, mask, a7); if (TR.Value > 1) Avx512F.MaskStore(dx + 7 * dxPlane + dxRow, mask, b7); }
        if (TC.Value > 8) { Avx512F.MaskStore(dx + 8 * dxPlane, mask, a8); if (TR.Value > 1) Avx512F.MaskStore(dx + 8 * dxPlane + dxRow, mask, b8); }
        if (TC.Value > 9) { Avx512F.MaskStore(dx + 9 * dxPlane, mask, a9); if (TR.Value > 1) Avx512F.MaskStore(dx + 9 * dxPlane + dxRow, mask, b9); }
        if (TC.Value > 10) { Avx512F.MaskStore(dx + 10 * dxPlane, mask, a10); if (TR.Value > 1) Avx512F.MaskStore(dx + 10 * dxPlane + dxRow, mask, b10); }
        if (TC.Value > 11) { Avx512F.MaskStore(dx + 11 * dxPlane, mask, a11); if (TR.Value > 1) Avx512F.MaskStore(dx + 11 * dxPlane + dxRow, mask, b11); }
        if (TC.Value > 12) { Avx512F.MaskStore(dx + 12 * dxPlane, mask, a12); if (TR.Value > 1) Avx512F.MaskStore(dx + 12 * dxPlane + dxRow, mask, b12); }
        if (TC.Value > 13) { Avx512F.MaskStore(dx + 13 * dxPlane, mask, a13); if (TR.Value > 1) Avx512F.MaskStore(dx + 13 * dxPlane + dxRow, mask, b13); }
    }
}
