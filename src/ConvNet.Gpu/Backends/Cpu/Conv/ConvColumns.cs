using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static ConvNet.Gpu.Backends.Cpu.Conv.VectorRuns;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// im2col and col2im for one sample. Columns are (C*KH*KW, OH*OW): row (c*KH + kh)*KW + kw holds, for every output
/// pixel (oh, ow), the input tap x[c, oh*SH - PadTop + kh*DH, ow*SW - PadLeft + kw*DW], or 0 where that tap is padding.
/// Both directions work on a channel range so callers can split one sample across threads (channels never share
/// rows or input planes, so the split needs no synchronization and col2im stays deterministic).
/// For each (row, oh) the in-bounds ow range is computed once, so the inner loops are plain copies, zero fills and adds
/// (inline <see cref="VectorRuns"/> loops: short runs, such as a 28-pixel row, are the norm).
/// </summary>
internal static unsafe class ConvColumns
{
    /// <summary>Writes the column rows of channels [c0, c1) of one sample <paramref name="x"/> (C, H, W) into <paramref name="cols"/>.</summary>
    public static void Im2Col(float* x, float* cols, Conv2dGeometry g, int c0, int c1) => Im2Col(x, cols, g, c0, c1, 0, g.OH);

    /// <summary>
    /// im2col restricted to output rows [oh0, oh1): <paramref name="cols"/> is (C*KH*KW, (oh1-oh0)*OW), the column block
    /// of those output pixels. Lets callers build the columns in L2-sized pieces.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Im2Col(float* x, float* cols, Conv2dGeometry g, int c0, int c1, int oh0, int oh1)
    {
        int ow = g.OW, plane = (oh1 - oh0) * ow;
        for (int c = c0; c < c1; c++)
        {
            float* xc = x + (long)c * g.H * g.W;
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    float* row = cols + ((long)(c * g.KH + kh) * g.KW + kw) * plane;
                    int offW = kw * g.DW - g.PadLeft;
                    var (lo, hi) = ValidRange(offW, g.SW, g.W, ow);
                    for (int y = oh0; y < oh1; y++)
                    {
                        float* dst = row + (long)(y - oh0) * ow;
                        int ih = y * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H)
                        {
                            Zero(dst, ow);
                            continue;
                        }
                        Zero(dst, lo);
                        float* src = xc + (long)ih * g.W + offW;
                        if (g.SW == 1)
                            Copy(src + lo, dst + lo, hi - lo);
                        else if (g.SW == 2)
                            GatherStride2(src, dst, lo, hi);
                        else
                            GatherStrided(src, dst, lo, hi, g.SW);
                        Zero(dst + hi, ow - hi);
                    }
                }
        }
    }

    /// <summary>
    /// Overwrites channels [c0, c1) of one sample's <paramref name="dx"/> (C, H, W) with the sum of every column entry that
    /// im2col would have read from each position, accumulated in a fixed (row, oh, ow) order.
    /// </summary>
    public static void Col2Im(float* cols, float* dx, Conv2dGeometry g, int c0, int c1) => Col2Im(cols, dx, g, c0, c1, 0, g.OH, true);

    /// <summary>
    /// col2im of the column block of output rows [oh0, oh1) (layout as in the matching im2col), added into
    /// <paramref name="dx"/>, or written over it when <paramref name="overwrite"/> (the first block of a sample).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Col2Im(float* cols, float* dx, Conv2dGeometry g, int c0, int c1, int oh0, int oh1, bool overwrite)
    {
        int ow = g.OW, plane = (oh1 - oh0) * ow;
        for (int c = c0; c < c1; c++)
        {
            float* xc = dx + (long)c * g.H * g.W;
            if (overwrite) Zero(xc, g.H * g.W);
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    float* row = cols + ((long)(c * g.KH + kh) * g.KW + kw) * plane;
                    int offW = kw * g.DW - g.PadLeft;
                    var (lo, hi) = ValidRange(offW, g.SW, g.W, ow);
                    if (lo >= hi) continue;
                    for (int y = oh0; y < oh1; y++)
                    {
                        int ih = y * g.SH - g.PadTop + kh * g.DH;
                        if ((uint)ih >= (uint)g.H) continue;
                        float* src = row + (long)(y - oh0) * ow;
                        float* dst = xc + (long)ih * g.W + offW;
                        if (g.SW == 1)
                            Add(src + lo, dst + lo, hi - lo);
                        else if (g.SW == 2)
                            ScatterAddStride2(src, dst, lo, hi);
                        else
                            for (int i = lo; i < hi; i++) dst[i * g.SW] += src[i];
                    }
                }
        }
    }

    /// <summary>dst[i] = src[2i] for i in [lo, hi): 8 outputs per two loads and two shuffles (stride-2 convolutions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherStride2(float* src, float* dst, int lo, int hi)
    {
        int i = lo;
        if (Avx2.IsSupported)
            // i + 8 < hi keeps the second load (src[2i + 8 .. 2i + 15]) inside the row's last valid element 2(hi - 1).
            for (; i + 8 < hi; i += 8)
            {
                var a = Avx.LoadVector256(src + 2 * i);
                var b = Avx.LoadVector256(src + 2 * i + 8);
                var even = Avx.Shuffle(a, b, 0b10_00_10_00); // a0 a2 b0 b2 | a4 a6 b4 b6
                Avx.Store(dst + i, Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle()); // a0 a2 a4 a6 b0 b2 b4 b6
            }
        for (; i < hi; i++) dst[i] = src[2 * i];
    }

    /// <summary>dst[i] = src[i * stride] for i in [lo, hi): 8 lanes per AVX2 gather (strides 3 and up).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherStrided(float* src, float* dst, int lo, int hi, int stride)
    {
        int i = lo;
        if (Avx2.IsSupported)
        {
            var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * stride;
            // Every gathered index i*stride with i < hi is a valid tap of the row.
            for (; i + 8 <= hi; i += 8)
                Avx.Store(dst + i, Avx2.GatherVector256(src, Vector256.Create(i * stride) + lanes, 4));
        }
        for (; i < hi; i++) dst[i] = src[i * stride];
    }

    /// <summary>
    /// dst[2i] += src[i] for i in [lo, hi): each vector step adds (s0, 0, s1, 0, ...) over 16 consecutive elements, so the
    /// odd positions between get + 0 (which leaves every value but -0 unchanged).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScatterAddStride2(float* src, float* dst, int lo, int hi)
    {
        int i = lo;
        if (Avx.IsSupported)
            for (; i + 8 < hi; i += 8)
            {
                var v = Avx.LoadVector256(src + i);
                var l = Avx.UnpackLow(v, Vector256<float>.Zero);  // v0 0 v1 0 | v4 0 v5 0
                var h = Avx.UnpackHigh(v, Vector256<float>.Zero); // v2 0 v3 0 | v6 0 v7 0
                float* d = dst + 2 * i;
                Avx.Store(d, Avx.Add(Avx.LoadVector256(d), Avx.Permute2x128(l, h, 0x20)));
                Avx.Store(d + 8, Avx.Add(Avx.LoadVector256(d + 8), Avx.Permute2x128(l, h, 0x31)));
            }
        for (; i < hi; i++) dst[2 * i] += src[i];
    }

    /// <summary>
    /// The output columns [lo, hi) whose input column ow*stride + off lies in [0, size), clamped to [0, outSize).
    /// </summary>
    internal static (int Lo, int Hi) ValidRange(int off, int stride, int size, int outSize)
    {
        // ow*stride + off >= 0  <=>  ow >= ceil(-off / stride);  ow*stride + off <= size - 1  <=>  ow <= floor((size - 1 - off) / stride).
        int lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int last = size - 1 - off;
        int hi = last < 0 ? 0 : last / stride + 1;
        lo = Math.Min(lo, outSize);
        hi = Math.Clamp(hi, lo, outSize);
        return (lo, hi);
    }
}
