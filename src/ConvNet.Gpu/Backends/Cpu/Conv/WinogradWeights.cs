using System.Runtime.CompilerServices;
using ConvNet.Gpu.Backends.Cpu.Gemm;

using ConvNet.Gpu.Backends.Cpu.Threading;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Winograd weight gradient for the layers <see cref="WinogradConv"/> runs forward: F(3x3, 2x2), the transpose of
/// F(2x2, 3x3). Per 2x2 tile of dY and its 4x4 input patch d: dW += G^T [(A y A^T) ⊙ (B^T d B)] G, so the input
/// transform is the forward one, the 16 products are summed over all tiles of the batch by 16 GEMMs
/// M[xi] (K x C) += U[xi] (K x T) V[xi]^T (T x C), and G^T M G (3x3) is taken once at the end.
/// Units (sample, phase) are split into fixed chunks, each summing into its own M; the chunks' M are added in chunk
/// order: bitwise reproducible for a given thread count.
/// </summary>
internal static unsafe class WinogradWeights
{
    private const int BlockFloats = 1 << 18;

    /// <summary>Floats of one chunk's partial sums: 16 x K x C.</summary>
    public static long PartialFloats(Conv2dGeometry g) => 16L * g.K * g.C;

    /// <summary>
    /// dW (+)= the weight gradient of x and dY. <paramref name="partial"/>(chunk) and <paramref name="scratch"/>(slot,
    /// floats) return per-chunk and per-worker buffers.
    /// </summary>
    public static void Run(float* x, float* dy, float* dw, Conv2dGeometry g, bool accumulate, int threads,
        Func<int, nint> partial, Func<int, long, nint> scratch, CpuWorkers pool)
    {
        int d = g.DH, padT = g.PadTop / d, padL = g.PadLeft / d;
        int units = g.N * d * d;
        int workers = Math.Min(threads, units);
        int chunks = ChunkedSum.Chunks(units, workers);
        long mFloats = PartialFloats(g);

        void Chunk(int slot, int chunk)
        {
            float* m = (float*)partial(chunk);
            new Span<float>(m, (int)mFloats).Clear();
            int u0 = (int)((long)units * chunk / chunks), u1 = (int)((long)units * (chunk + 1) / chunks);
            for (int unit = u0; unit < u1; unit++)
            {
                int n = unit / (d * d), p = unit / d % d, q = unit % d;
                var input = new PhaseView(x + (long)n * g.C * g.InputPlane + (long)p * g.W + q, g.InputPlane, d * g.W, d,
                    (g.H - p + d - 1) / d, (g.W - q + d - 1) / d);
                var grad = new PhaseView(dy + (long)n * g.K * g.OutputPlane + (long)p * g.OW + q, g.OutputPlane, d * g.OW, d,
                    (g.OH - p + d - 1) / d, (g.OW - q + d - 1) / d);
                Plane(input, grad, g.C, g.K, padT, padL, m, slot, scratch);
            }
        }

        ChunkedSum.Run(pool, workers, chunks, Chunk);
        float* total = ChunkedSum.AddInOrder(partial, chunks, mFloats);
        Span<double> w = stackalloc double[9];
        long stride = (long)g.K * g.C;
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
            {
                WinogradTransforms.WeightOutput(total + (long)k * g.C + c, stride, w);
                float* dst = dw + ((long)k * g.C + c) * 9;
                for (int i = 0; i < 9; i++) dst[i] = accumulate ? dst[i] + (float)w[i] : (float)w[i];
            }
    }

    /// <summary>One (sample, phase): M[xi] += U[xi] V[xi]^T over its tiles, in blocks of tile rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plane(PhaseView input, PhaseView grad, int cin, int cout, int padT, int padL, float* m, int slot,
        Func<int, long, nint> scratch)
    {
        int tilesH = (grad.Rows + 1) / 2, tilesW = (grad.Cols + 1) / 2;
        if (tilesH == 0 || tilesW == 0) return;
        int rowsPerBlock = (int)Math.Clamp(BlockFloats / (16L * (cin + cout) * tilesW), 1, tilesH);
        int maxTiles = rowsPerBlock * tilesW, rowLength = 2 * tilesW + 64;
        long vStride = (long)cin * maxTiles + 16, uStride = (long)cout * maxTiles + 16;
        float* v = (float*)scratch(slot, 16 * vStride + 16 * uStride + 4L * rowLength);
        float* u = v + 16 * vStride, rows = u + 16 * uStride;
        long mStride = (long)cout * cin;
        for (int th0 = 0; th0 < tilesH; th0 += rowsPerBlock)
        {
            int th1 = Math.Min(tilesH, th0 + rowsPerBlock), tiles = (th1 - th0) * tilesW;
            WinogradConv.TransformInput(input, cin, th0, th1, tilesW, padT, padL, rows, rowLength, v, vStride);
            // Gradient transform: U[xi][k][t] from the 2x2 dY tiles (rows 2th, 2th + 1; zero past the view).
            for (int k = 0; k < cout; k++)
                for (int th = th0; th < th1; th++)
                {
                    WinogradConv.LoadRow(grad, k, 2 * th, 0, rows, rowLength);
                    WinogradConv.LoadRow(grad, k, 2 * th + 1, 0, rows + rowLength, rowLength);
                    float* ut = u + (long)k * tiles + (th - th0) * tilesW;
                    for (int tw0 = 0; tw0 < tilesW; tw0 += WinogradTransforms.Lanes)
                    {
                        int tw = Math.Max(0, Math.Min(tw0, tilesW - WinogradTransforms.Lanes));
                        WinogradTransforms.Gradient16(rows + 2 * tw, rows + rowLength + 2 * tw, ut + tw, uStride);
                    }
                }
            // M[xi] (cout x cin) += U[xi] (cout x tiles) * V[xi]^T (tiles x cin).
            for (int xi = 0; xi < 16; xi++)
                PackedSgemm.Run(false, true, cout, cin, tiles, 1f, u + xi * uStride, tiles, v + xi * vStride, tiles,
                    1f, m + xi * mStride, cin, null);
        }
    }
}
