using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Direct convolutions for layers with few channels (LeNet's C1 and C3), where im2col + GEMM is dominated by fixed
/// costs and narrow matrices. The vector lanes run over the (at most 16) output channels of the pass:
/// <list type="bullet">
/// <item>forward: per output row, blocks of up to 14 pixels each hold a 16-lane accumulator; every filter tap adds
/// broadcast(x) * W[:, tap] (weights transposed to tap-major, 16 lanes, zero-padded);</item>
/// <item>backward-data (stride 1): the same kernel on dY padded by d(k-1) - pad with the filters flipped and transposed;</item>
/// <item>backward-weights: per block of up to 14 taps, every output pixel adds broadcast(x at tap) * dY[:, pixel]
/// (dY transposed to pixel-major), summed over the batch in fixed chunks whose partials are added in chunk order.</item>
/// </list>
/// Inputs are first copied into a zero-padded plane per sample, so the inner loops have no bounds checks. Every output
/// value is produced by one thread with a fixed order of operations: bitwise reproducible for a given thread count
/// (forward and backward-data do not depend on it at all).
/// </summary>
internal static unsafe class SmallChannelConv
{
    /// <summary>Lanes per accumulator (one AVX-512 vector of output channels).</summary>
    public const int Lanes = 16;

    /// <summary>Most accumulators of one block (pixels or taps).</summary>
    private const int MaxBlock = 14;

    /// <summary>Whether the kernels can run here.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Forward applies: one group, C &lt;= 8 input channels, and the pixel-lane kernel or K in [4, 16] output channels.</summary>
    public static bool AppliesForward(Conv2dGeometry g) =>
        IsSupported && g.Groups == 1 && g.C <= 8 && (PixelLanes(g) || g.K >= 4 && g.K <= Lanes);

    /// <summary>
    /// Backward-data applies: stride 1, one group, C &lt;= 16 (the lanes), K &lt;= 32, pad &lt;= d(k - 1), and little waste:
    /// the kernel computes every tap of every input pixel (the "full" correlation, padded dY), so (C / 16) x (OH*OW) /
    /// (H*W) is the useful fraction of its multiply-adds; it must be at least 1/2 (LeNet C3, 6/16 x 100/196, is not).
    /// </summary>
    public static bool AppliesBackwardData(Conv2dGeometry g) =>
        IsSupported && g.Groups == 1 && g.SH == 1 && g.SW == 1 && g.C <= Lanes && g.K <= 32 &&
        g.PadTop <= g.DH * (g.KH - 1) && g.PadLeft <= g.DW * (g.KW - 1) &&
        (double)g.C / Lanes * g.OutputPlane / g.InputPlane >= 0.5;

    /// <summary>
    /// Backward-data by the pixel-lane kernel (<see cref="PixelRowsBackwardData"/>) is preferred to im2col + GEMM when it
    /// supports the geometry and: 4 &lt;= C &lt;= 8 (at least 8 accumulators over the two rows hide the FMA latency, and the
    /// GEMM's M side, C*KH*KW, is narrow), K &lt;= 64 (the GEMM's reduction is short), and at least 3/4 of the lanes of a
    /// row's 16-pixel segments hold pixels (W = 14 or 28: 7/8). Measured one thread, interleaved (quick --versus):
    /// LeNet C3 (C 6, K 16, 14 wide) 2.0x faster; C 4, K 32, 32 wide 1.3x; C 1 (LeNet C1) 0.95x and C 8, K 64, 20 wide
    /// (5/8 of the lanes) 0.83x, so those stay on im2col + GEMM.
    /// </summary>
    public static bool PrefersPixelRowsBackwardData(Conv2dGeometry g) =>
        PixelRowsBackwardData.Supports(g) && g.C >= 4 && g.C <= 8 && g.K <= 64 &&
        4 * g.W >= 3 * PixelRowsBackwardData.Segment * ((g.W + PixelRowsBackwardData.Segment - 1) / PixelRowsBackwardData.Segment);

    /// <summary>
    /// Backward-weights applies: one group, C &lt;= 8, and either the pixel-lane kernel (<see cref="PixelLanes"/>) or the
    /// channel-lane one with K in [8, 16] (any number of taps, in blocks of 14: LeNet C3's 150), or K in [4, 8) with
    /// C*KH*KW &lt;= 28 taps (two blocks; with fewer live lanes, more blocks would cost more than im2col + GEMM).
    /// </summary>
    public static bool AppliesBackwardWeights(Conv2dGeometry g) =>
        IsSupported && g.Groups == 1 && g.C <= 8 &&
        (PixelLanes(g) || g.K >= 8 && g.K <= Lanes || g.K >= 4 && g.K < 8 && g.C * g.KH * g.KW <= 2 * MaxBlock);

    /// <summary>
    /// Whether the pixel-lane kernels (<see cref="SmallChannelRows"/>: 32 pixels of a row per accumulator pair, one pair
    /// per output channel) issue fewer vector multiply-adds than the channel-lane ones: stride 1, and per row and tap
    /// 2 x segments x K &lt; OW (LeNet C1: 2 x 1 x 6 &lt; 28; C3: 2 x 1 x 16 &gt; 10).
    /// </summary>
    public static bool PixelLanes(Conv2dGeometry g) =>
        g.SH == 1 && g.SW == 1 && 2 * SmallChannelRows.Segments(g.OW) * g.K < g.OW;

    /// <summary>A zero-padded copy of <paramref name="planes"/> planes: (rows, cols) placed at (top, left) in (hp, wp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PadPlanes(float* src, int planes, int rows, int cols, int top, int left, float* dst, int hp, int wp)
    {
        for (int p = 0; p < planes; p++)
        {
            float* s = src + (long)p * rows * cols, d = dst + (long)p * hp * wp;
            VectorRuns.Zero(d, hp * wp);
            int r0 = Math.Max(0, -top), r1 = Math.Min(rows, hp - top), c0 = Math.Max(0, -left), c1 = Math.Min(cols, wp - left);
            if (c1 <= c0) continue;
            for (int r = r0; r < r1; r++) VectorRuns.Copy(s + (long)r * cols + c0, d + (long)(r + top) * wp + left + c0, c1 - c0);
        }
    }

    /// <summary>
    /// Forward-style direct convolution of one sample: <paramref name="xp"/> holds <paramref name="cin"/> padded planes
    /// (hp x wp) already offset so output (oh, ow) reads tap (c, kh, kw) at xp[c*hp*wp + (oh*s + kh*d)*wp + ow*s + kw*d];
    /// <paramref name="wt"/> is (cin*kh*kw) x 16 lanes; <paramref name="bias16"/> 16 lanes or null. Writes y (cout planes oh x ow).
    /// <paramref name="tapOffsets"/> and <paramref name="tmp"/> are scratch (cin*kh*kw ints, 14 x 16 floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Direct(float* xp, int cin, int hp, int wp, int kh, int kw, int dh, int dw, int sh, int sw,
        float* wt, float* bias16, float* y, int cout, int oh, int ow, int* tapOffsets, float* tmp)
    {
        int taps = cin * kh * kw;
        for (int c = 0, t = 0; c < cin; c++)
            for (int r = 0; r < kh; r++)
                for (int s = 0; s < kw; s++, t++) tapOffsets[t] = c * hp * wp + r * dh * wp + s * dw;
        Span<int> pixelOffsets = stackalloc int[MaxBlock];
        for (int j = 0; j < MaxBlock; j++) pixelOffsets[j] = j * sw;
        fixed (int* offs = pixelOffsets)
            for (int row = 0; row < oh; row++)
                for (int ow0 = 0; ow0 < ow; ow0 += MaxBlock)
                {
                    int count = Math.Min(MaxBlock, ow - ow0);
                    var init = bias16 == null ? Vector512<float>.Zero : Vector512.Load(bias16);
                    for (int j = 0; j < count; j++) init.Store(tmp + j * Lanes);
                    Block(count, xp + (long)row * sh * wp + ow0 * sw, tapOffsets, wt, taps, offs, tmp);
                    // Transpose the block: lane k of accumulator j is y[k, row, ow0 + j].
                    for (int k = 0; k < cout; k++)
                    {
                        float* dst = y + ((long)k * oh + row) * ow + ow0;
                        for (int j = 0; j < count; j++) dst[j] = tmp[j * Lanes + k];
                    }
                }
    }

    /// <summary>
    /// One block of weight-gradient sums: acc[j] (16 lanes at <paramref name="acc"/> + 16j, read and written back) +=
    /// x[pixelOffsets[i] + tapOffsets[j]] * dyT[i] over pixels i, for <paramref name="count"/> taps.
    /// </summary>
    public static void WeightBlock(int count, float* x, int* pixelOffsets, float* dyT, int pixels, int* tapOffsets, float* acc) =>
        Block(count, x, pixelOffsets, dyT, pixels, tapOffsets, acc);

    /// <summary>acc[j] += broadcast(x[bases[i] + offs[j]]) * vecs[i] for i &lt; n, j &lt; count (count &lt;= 14).</summary>
    private static void Block(int count, float* x, int* bases, float* vecs, int n, int* offs, float* acc)
    {
        switch (count)
        {
            case 1: Block<R1>(x, bases, vecs, n, offs, acc); break;
            case 2: Block<R2>(x, bases, vecs, n, offs, acc); break;
            case 3: Block<R3>(x, bases, vecs, n, offs, acc); break;
            case 4: Block<R4>(x, bases, vecs, n, offs, acc); break;
            case 5: Block<R5>(x, bases, vecs, n, offs, acc); break;
            case 6: Block<R6>(x, bases, vecs, n, offs, acc); break;
            case 7: Block<R7>(x, bases, vecs, n, offs, acc); break;
            case 8: Block<R8>(x, bases, vecs, n, offs, acc); break;
            case 9: Block<R9>(x, bases, vecs, n, offs, acc); break;
            case 10: Block<R10>(x, bases, vecs, n, offs, acc); break;
            case 11: Block<R11>(x, bases, vecs, n, offs, acc); break;
            case 12: Block<R12>(x, bases, vecs, n, offs, acc); break;
            case 13: Block<R13>(x, bases, vecs, n, offs, acc); break;
            case 14: Block<R14>(x, bases, vecs, n, offs, acc); break;
            default: throw new ArgumentOutOfRangeException(nameof(count));
        }
    }

    // Up to 14 accumulators in registers; rows past TP.Value are removed by the JIT (TP is a struct type parameter).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TP>(float* x, int* bases, float* vecs, int n, int* offs, float* acc) where TP : struct, IRowCount
    {
        int o0 = offs[0], o1 = TP.Value > 1 ? offs[1] : 0, o2 = TP.Value > 2 ? offs[2] : 0, o3 = TP.Value > 3 ? offs[3] : 0;
        int o4 = TP.Value > 4 ? offs[4] : 0, o5 = TP.Value > 5 ? offs[5] : 0, o6 = TP.Value > 6 ? offs[6] : 0;
        int o7 = TP.Value > 7 ? offs[7] : 0, o8 = TP.Value > 8 ? offs[8] : 0, o9 = TP.Value > 9 ? offs[9] : 0;
        int o10 = TP.Value > 10 ? offs[10] : 0, o11 = TP.Value > 11 ? offs[11] : 0, o12 = TP.Value > 12 ? offs[12] : 0;
        int o13 = TP.Value > 13 ? offs[13] : 0;
        var a0 = Vector512.Load(acc);
        var a1 = TP.Value > 1 ? Vector512.Load(acc + 16) : default;
        var a2 = TP.Value > 2 ? Vector512.Load(acc + 32) : default;
        var a3 = TP.Value > 3 ? Vector512.Load(acc + 48) : default;
        var a4 = TP.Value > 4 ? Vector512.Load(acc + 64) : default;
        var a5 = TP.Value > 5 ? Vector512.Load(acc + 80) : default;
        var a6 = TP.Value > 6 ? Vector512.Load(acc + 96) : default;
        var a7 = TP.Value > 7 ? Vector512.Load(acc + 112) : default;
        var a8 = TP.Value > 8 ? Vector512.Load(acc + 128) : default;
        var a9 = TP.Value > 9 ? Vector512.Load(acc + 144) : default;
        var a10 = TP.Value > 10 ? Vector512.Load(acc + 160) : default;
        var a11 = TP.Value > 11 ? Vector512.Load(acc + 176) : default;
        var a12 = TP.Value > 12 ? Vector512.Load(acc + 192) : default;
        var a13 = TP.Value > 13 ? Vector512.Load(acc + 208) : default;
        for (int i = 0; i < n; i++)
        {
            var v = Vector512.Load(vecs + (long)i * Lanes);
            float* xb = x + bases[i];
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o0]), v, a0);
            if (TP.Value > 1) a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o1]), v, a1);
            if (TP.Value > 2) a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o2]), v, a2);
            if (TP.Value > 3) a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o3]), v, a3);
            if (TP.Value > 4) a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o4]), v, a4);
            if (TP.Value > 5) a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o5]), v, a5);
            if (TP.Value > 6) a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o6]), v, a6);
            if (TP.Value > 7) a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o7]), v, a7);
            if (TP.Value > 8) a8 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o8]), v, a8);
            if (TP.Value > 9) a9 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o9]), v, a9);
            if (TP.Value > 10) a10 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o10]), v, a10);
            if (TP.Value > 11) a11 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o11]), v, a11);
            if (TP.Value > 12) a12 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o12]), v, a12);
            if (TP.Value > 13) a13 = Avx512F.FusedMultiplyAdd(Vector512.Create(xb[o13]), v, a13);
        }
        a0.Store(acc);
        if (TP.Value > 1) a1.Store(acc + 16);
        if (TP.Value > 2) a2.Store(acc + 32);
        if (TP.Value > 3) a3.Store(acc + 48);
        if (TP.Value > 4) a4.Store(acc + 64);
        if (TP.Value > 5) a5.Store(acc + 80);
        if (TP.Value > 6) a6.Store(acc + 96);
        if (TP.Value > 7) a7.Store(acc + 112);
        if (TP.Value > 8) a8.Store(acc + 128);
        if (TP.Value > 9) a9.Store(acc + 144);
        if (TP.Value > 10) a10.Store(acc + 160);
        if (TP.Value > 11) a11.Store(acc + 176);
        if (TP.Value > 12) a12.Store(acc + 192);
        if (TP.Value > 13) a13.Store(acc + 208);
    }
}
