using System.Runtime.CompilerServices;
using ConvNet.Gpu.Backends.Cpu.Gemm;

using ConvNet.Gpu.Backends.Cpu.Threading;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Winograd F(2x2, 3x3) convolution, forward and backward-data, for 3x3 filters with stride 1, one group, equal
/// dilation d in both directions and top/left padding that is a multiple of d.
/// <para>
/// Dilation is removed by splitting each plane into d x d phases (rows i ≡ p (mod d), columns j ≡ q (mod d)): with
/// stride 1, output phase (p, q) reads only input phase (p, q), as an undilated 3x3 convolution with padding pad/d.
/// Backward-data is the same computation on dY with the filters flipped and transposed, W'[c][k][r][s] =
/// W[k][c][2-r][2-s], and padding 2 - pad/d (so pad/d must be at most 2).
/// </para>
/// <para>
/// One "unit" is one (sample, phase): its input view is split into tile rows; a block of tile rows is transformed into
/// V (16 x C x T), multiplied as M[xi] = U[xi] (K x C) V[xi] (C x T) by 16 single-threaded GEMMs, and M is transformed
/// back into the output view, which every output element of the unit receives exactly once (no accumulation). Units run
/// in parallel; each value is computed by a fixed sequence of float operations, so results are bitwise identical for
/// any thread count and schedule.
/// </para>
/// Accuracy: see docs/cpu-convolution.md ("Winograd error bound"): |y - y_exact| &lt;= γ(C + 11) · S with
/// S = |A^T| (Σ_c |G||g_c||G^T| ⊙ |B^T||d_c||B|) |A| and γ(n) = n u / (1 - n u), u = 2^-24.
/// </summary>
internal static unsafe class WinogradConv
{
    /// <summary>Floats of V plus M per tile block (about 1 MB: the block stays in a Zen 4/5-sized L2 while the GEMMs read it).</summary>
    private const int BlockFloats = 1 << 18;

    /// <summary>Why Winograd F(2x2, 3x3) cannot run <paramref name="g"/> (null when it can). Backward-data needs pad/d &lt;= 2.</summary>
    public static string? Unsupported(Conv2dGeometry g, bool backwardData)
    {
        if (!WinogradTransforms.IsSupported) return "needs AVX-512F";
        if (g.KH != 3 || g.KW != 3) return $"kernel {g.KH}x{g.KW} is not 3x3";
        if (g.SH != 1 || g.SW != 1) return $"stride {g.SH}x{g.SW} is not 1";
        if (g.Groups != 1) return $"groups = {g.Groups}";
        if (g.DH != g.DW) return $"dilation {g.DH}x{g.DW} differs between rows and columns";
        int d = g.DH;
        if (g.PadTop % d != 0 || g.PadLeft % d != 0) return $"padding (top {g.PadTop}, left {g.PadLeft}) is not a multiple of the dilation {d}";
        if (backwardData && (g.PadTop / d > 2 || g.PadLeft / d > 2)) return $"padding / dilation above 2 (top {g.PadTop}, left {g.PadLeft}, dilation {d})";
        return null;
    }

    private static int MR => Avx512Kernel.MR;
    private static int NR => Avx512Kernel.NR;
    private static int KC => Avx512Kernel.KC;

    /// <summary>Output channels of the pass rounded up to whole register tiles.</summary>
    private static int PaddedOut(Conv2dGeometry g, bool backwardData) => ((backwardData ? g.C : g.K) + MR - 1) / MR * MR;

    /// <summary>Floats of the transformed filters: 16 x K x C as computed, then 16 packed copies (cout rounded up to MR).</summary>
    public static long FilterFloats(Conv2dGeometry g, bool backwardData) =>
        16L * g.K * g.C + 16L * PaddedOut(g, backwardData) * (backwardData ? g.K : g.C);

    /// <summary>
    /// Transforms every filter (16 matrices; for the forward pass U[xi] is K x C, for backward-data U'[xi] = transform
    /// of the flipped filter, C x K), then packs each U[xi] once into the micro-kernel's A-panel layout (MR rows,
    /// k-major, per KC block) behind them, so the per-tile GEMMs read it without repacking.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformFilters(float* w, Conv2dGeometry g, bool backwardData, float* u)
    {
        long stride = (long)g.K * g.C;
        int cin = backwardData ? g.K : g.C, cout = backwardData ? g.C : g.K, padded = PaddedOut(g, backwardData);
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
            {
                float* f = w + ((long)k * g.C + c) * 9;
                if (!backwardData)
                    WinogradTransforms.Filter(f, 3, 1, u + (long)k * g.C + c, stride);
                else // flipped: g'(r, s) = g(2 - r, 2 - s)
                    WinogradTransforms.Filter(f + 8, -3, -1, u + (long)c * g.K + k, stride);
            }
        float* packed = u + 16 * stride;
        for (int xi = 0; xi < 16; xi++)
            for (int p0 = 0; p0 < cin; p0 += KC)
                SgemmPacking.PackA(false, u + xi * stride, cin, 0, p0, cout, Math.Min(KC, cin - p0), MR, 1f,
                    packed + (long)xi * padded * cin + (long)p0 * padded);
    }


    /// <summary>
    /// Runs one direction over the whole batch: forward (x -> y, filters U K x C, plus bias) or backward-data
    /// (dY -> dX, filters U' C x K). <paramref name="scratch"/>(slot, floats) returns a per-worker buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* src, float* u, float* bias, float* dst, Conv2dGeometry g, bool backwardData,
        int threads, Func<int, long, nint> scratch, CpuWorkers pool)
    {
        int d = g.DH;
        int cin = backwardData ? g.K : g.C, cout = backwardData ? g.C : g.K;
        int inH = backwardData ? g.OH : g.H, inW = backwardData ? g.OW : g.W;
        int outH = backwardData ? g.H : g.OH, outW = backwardData ? g.W : g.OW;
        int padT = backwardData ? 2 - g.PadTop / d : g.PadTop / d, padL = backwardData ? 2 - g.PadLeft / d : g.PadLeft / d;
        long inPlane = (long)inH * inW, outPlane = (long)outH * outW;
        int units = g.N * d * d;

        void Unit(int slot, int unit)
        {
            int n = unit / (d * d), p = unit / d % d, q = unit % d;
            var input = new PhaseView(src + n * cin * inPlane + (long)p * inW + q, inPlane, d * inW, d,
                (inH - p + d - 1) / d, (inW - q + d - 1) / d);
            var output = new PhaseView(dst + n * cout * outPlane + (long)p * outW + q, outPlane, d * outW, d,
                (outH - p + d - 1) / d, (outW - q + d - 1) / d);
            Plane(input, output, cin, cout, padT, padL, u + 16L * cin * cout, bias, slot, scratch);
        }

        int workers = Math.Min(threads, units);
        if (workers <= 1)
        {
            for (int i = 0; i < units; i++) Unit(0, i);
            return;
        }
        pool.Run(units, Unit, maxThreads: workers); // slot < workers
    }

    /// <summary>
    /// One (sample, phase): output view (cout, Rows, Cols) = conv(input view (cin, ...), padding (padT, padL)), with the
    /// packed filters <paramref name="u"/> (16 blocks of cout rounded up to MR, times cin).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plane(PhaseView input, PhaseView output, int cin, int cout, int padT, int padL, float* u, float* bias,
        int slot, Func<int, long, nint> scratch)
    {
        int tilesH = (output.Rows + 1) / 2, tilesW = (output.Cols + 1) / 2;
        if (tilesH == 0 || tilesW == 0) return; // a phase with no outputs (dilation wider than the output)
        // Tile rows per block: V and M (16 x (cin + cout) x tiles) within BlockFloats, at least one row.
        int rowsPerBlock = (int)Math.Clamp(BlockFloats / (16L * (cin + cout) * tilesW), 1, tilesH);
        int maxTiles = rowsPerBlock * tilesW;
        // Padded row buffers: tile t's patch column j sits at 2t + j, which is input column 2t + j - padL; 64 floats of
        // slack cover the vector loads past the last tile (they read zeros).
        int rowLength = 2 * tilesW + 64;
        // The 16 matrices of V (and of M) are a padded stride apart: with a power-of-two-multiple stride (64 x 112 floats
        // is 7 x 4 KB) the 16 vector streams of a transform all map to one L1 set and evict each other.
        // V keeps NR floats of slack after each matrix: a ragged last panel reads (and ignores) up to NR - 1 floats past it.
        long vStride = (long)cin * maxTiles + 2 * NR, mStride = (long)cout * maxTiles + 16;
        long vFloats = 16 * vStride, mFloats = 16 * mStride;
        float* v = (float*)scratch(slot, vFloats + mFloats + 6L * rowLength + MR * NR);
        float* m = v + vFloats, rows = m + mFloats, out0 = rows + 4 * rowLength, out1 = out0 + rowLength, tile = out1 + rowLength;
        int paddedOut = (cout + MR - 1) / MR * MR;

        for (int th0 = 0; th0 < tilesH; th0 += rowsPerBlock)
        {
            int th1 = Math.Min(tilesH, th0 + rowsPerBlock), tiles = (th1 - th0) * tilesW;
            TransformInput(input, cin, th0, th1, tilesW, padT, padL, rows, rowLength, v, vStride);
            // M[xi] (cout x tiles) = U[xi] (cout x cin) * V[xi] (cin x tiles): V is already k-major (row c holds the
            // block's tiles), so the micro-kernel reads it in place; U was packed once per call.
            for (int xi = 0; xi < 16; xi++)
            {
                float* ux = u + (long)xi * paddedOut * cin, vx = v + xi * vStride, mx = m + xi * mStride;
                for (int p0 = 0; p0 < cin; p0 += KC)
                {
                    int kc = Math.Min(KC, cin - p0);
                    var mode = p0 == 0 ? TileStore.Overwrite : TileStore.Accumulate;
                    float* ub = ux + (long)p0 * paddedOut, vb = vx + (long)p0 * tiles;
                    for (int j0 = 0; j0 < tiles; j0 += NR)
                    {
                        int nr = Math.Min(NR, tiles - j0);
                        for (int i0 = 0; i0 < cout; i0 += MR)
                            Avx512Kernel.TileStridedB(Math.Min(MR, cout - i0), nr, kc, ub + (long)i0 * kc, vb + j0, tiles,
                                mx + (long)i0 * tiles + j0, tiles, mode, tile);
                    }
                }
            }
            // Output transform, two output rows per tile row, then the copy into the view (plus bias).
            for (int k = 0; k < cout; k++)
            {
                float b = bias == null ? 0f : bias[k];
                for (int th = th0; th < th1; th++)
                {
                    float* mt = m + (long)k * tiles + (th - th0) * tilesW;
                    for (int tw0 = 0; tw0 < tilesW; tw0 += WinogradTransforms.Lanes)
                    {
                        int tw = Math.Max(0, Math.Min(tw0, tilesW - WinogradTransforms.Lanes));
                        WinogradTransforms.Output16(mt + tw, mStride, out0 + 2 * tw, out1 + 2 * tw);
                    }
                    StoreRow(output, k, 2 * th, out0, b, bias != null);
                    if (2 * th + 1 < output.Rows) StoreRow(output, k, 2 * th + 1, out1, b, bias != null);
                }
            }
        }
    }

    /// <summary>
    /// Input transform of tile rows [th0, th1): V[xi][c][t] at v + xi * vStride + c * tiles + t, with tiles = (th1 - th0)
    /// * tilesW and t = (th - th0) * tilesW + tw; <paramref name="rows"/> is scratch for four padded rows.
    /// </summary>
    internal static void TransformInput(PhaseView input, int cin, int th0, int th1, int tilesW, int padT, int padL,
        float* rows, int rowLength, float* v, long vStride)
    {
        int tiles = (th1 - th0) * tilesW;
        for (int c = 0; c < cin; c++)
            for (int th = th0; th < th1; th++)
            {
                for (int i = 0; i < 4; i++) LoadRow(input, c, 2 * th - padT + i, padL, rows + i * rowLength, rowLength);
                float* vt = v + (long)c * tiles + (th - th0) * tilesW;
                for (int tw0 = 0; tw0 < tilesW; tw0 += WinogradTransforms.Lanes)
                {
                    int tw = Math.Max(0, Math.Min(tw0, tilesW - WinogradTransforms.Lanes));
                    WinogradTransforms.Input16(rows + 2 * tw, rows + rowLength + 2 * tw, rows + 2 * rowLength + 2 * tw,
                        rows + 3 * rowLength + 2 * tw, vt + tw, vStride);
                }
            }
    }

    /// <summary>buf[j] = input(c, row, j - padL), zero outside the view, for j in [0, length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LoadRow(PhaseView input, int c, int row, int padL, float* buf, int length)
    {
        if ((uint)row >= (uint)input.Rows)
        {
            VectorRuns.Zero(buf, length);
            return;
        }
        int count = Math.Min(input.Cols, length - padL);
        VectorRuns.Zero(buf, padL);
        float* s = input.Base + c * input.ChannelStep + (long)row * input.RowStep;
        if (input.ColStep == 1) VectorRuns.Copy(s, buf + padL, count);
        else if (input.ColStep == 2) WinogradTransforms.GatherEven(s, buf + padL, count);
        else for (int j = 0; j < count; j++) buf[padL + j] = s[(long)j * input.ColStep];
        VectorRuns.Zero(buf + padL + count, length - padL - count);
    }

    /// <summary>output(k, row, j) = buf[j] (+ bias) for the view's columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(PhaseView output, int k, int row, float* buf, float b, bool addBias)
    {
        float* dstRow = output.Base + k * output.ChannelStep + (long)row * output.RowStep;
        int cols = output.Cols;
        if (addBias) VectorRuns.AddScalar(buf, b, cols);
        if (output.ColStep == 1) VectorRuns.Copy(buf, dstRow, cols);
        else if (output.ColStep == 2) WinogradTransforms.ScatterEven(buf, dstRow, cols);
        else for (int j = 0; j < cols; j++) dstRow[(long)j * output.ColStep] = buf[j];
    }
}
