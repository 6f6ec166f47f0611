using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Implicit-GEMM convolution (forward and weight gradient) for layers with many channels that Winograd does not cover,
/// such as ResNet's 3x3 stride-2 downsampling: the GEMM Y^T (pixels x K) = cols^T (pixels x C*KH*KW) W^T is computed
/// without materializing cols. Its left operand is broadcast straight from a zero-padded band of input rows (the
/// pixels of one output row are SW apart, the filter taps at fixed offsets), its right operand is the filters packed
/// once per call into panels of 32 output channels (<see cref="ImplicitGemmKernels"/>: 14 pixels x 32 channels per
/// register tile). The weight gradient is the transposed product dW^T (taps x K) = sum over pixels of x(tap + pixel)
/// dY^T(pixel), with 14 taps x 32 channels per tile, dY transposed once per band of rows.
/// <para>
/// Against im2col + GEMM this skips writing and re-reading the column matrix (9x the input for a 3x3 layer), the
/// per-call packing of the filters and of the column panels, and the L2 round trip between them; the price is a
/// transposition of each output tile (forward) or of dY (weight gradient), both O(outputs).
/// </para>
/// Determinism: every forward output is summed by one thread over the taps in (c, r, s) order, so forward bits depend
/// only on the geometry and the instruction set. The weight gradient sums pixels in row-major order per sample,
/// samples in order within fixed chunks, and the chunks' partials in chunk order (<see cref="ChunkedSum"/>): its bits
/// depend on the geometry and the chunking, a function of the batch size and the backend's thread count.
/// </summary>
internal static unsafe class ImplicitGemmConv
{
    /// <summary>Floats of one band of padded input rows (128 KB: the band stays in L2 with the filters and the tiles).</summary>
    private const int BandFloats = 1 << 15;

    private const int Panel = ImplicitGemmKernels.Panel;
    private const int MaxTile = ImplicitGemmKernels.MaxTile;

    /// <summary>Whether the kernels can run <paramref name="g"/>: AVX-512F, one group, horizontal stride 1 or 2.</summary>
    public static bool Supports(Conv2dGeometry g) => Avx512F.IsSupported && g.Groups == 1 && g.SW is 1 or 2;

    /// <summary>Output-channel panels of 32.</summary>
    public static int Panels(Conv2dGeometry g) => (g.K + Panel - 1) / Panel;

    /// <summary>Filter taps C*KH*KW (the GEMM's reduction for the forward pass).</summary>
    public static int Taps(Conv2dGeometry g) => g.C * g.KH * g.KW;

    /// <summary>Columns of a padded band row: every input column an output row reads, padding included.</summary>
    public static int BandWidth(Conv2dGeometry g) => (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1;

    /// <summary>Output rows per band: as many as keep the band within <see cref="BandFloats"/>, at least one.</summary>
    public static int BandOutputRows(Conv2dGeometry g) =>
        (int)Math.Clamp(BandFloats / ((long)g.C * g.SH * BandWidth(g)), 1, g.OH);

    /// <summary>Padded input rows of a band of <paramref name="outputRows"/> output rows.</summary>
    private static int BandInputRows(Conv2dGeometry g, int outputRows) => (outputRows - 1) * g.SH + (g.KH - 1) * g.DH + 1;

    /// <summary>Floats of one worker's band buffer (padded rows of every channel) plus the forward's output tile.</summary>
    public static long BandBufferFloats(Conv2dGeometry g) =>
        (long)g.C * BandInputRows(g, BandOutputRows(g)) * BandWidth(g) + MaxTile * Panel + 16;

    /// <summary>Floats of the packed filters, the bias panels and the tap offsets (<see cref="PackFilters"/>).</summary>
    public static long PackedFilterFloats(Conv2dGeometry g) => (long)Panels(g) * Panel * (Taps(g) + 1) + Taps(g) + 16;

    /// <summary>
    /// Packs the filters into panels (wp[(q*taps + t)*32 + l] = W[q*32 + l, t], zero past K), then the bias panels
    /// (zeros without a bias) and the taps' offsets into a band (c*rows*width + r*DH*width + s*DW, as ints).
    /// </summary>
    public static void PackFilters(float* w, float* bias, Conv2dGeometry g, float* packed)
    {
        int taps = Taps(g), panels = Panels(g);
        new Span<float>(packed, panels * Panel * (taps + 1)).Clear();
        for (int k = 0; k < g.K; k++)
        {
            float* dst = packed + (long)(k / Panel) * taps * Panel + k % Panel;
            for (int t = 0; t < taps; t++) dst[(long)t * Panel] = w[(long)k * taps + t];
        }
        float* biasPanels = packed + (long)panels * taps * Panel;
        if (bias != null)
            for (int k = 0; k < g.K; k++) biasPanels[k] = bias[k];
        FillTapOffsets(TapOffsets(packed, g), g);
    }

    private static int* TapOffsets(float* packed, Conv2dGeometry g) => (int*)(packed + (long)Panels(g) * Panel * (Taps(g) + 1));

    private static void FillTapOffsets(int* offsets, Conv2dGeometry g)
    {
        int width = BandWidth(g), plane = BandInputRows(g, BandOutputRows(g)) * width;
        for (int c = 0, t = 0; c < g.C; c++)
            for (int r = 0; r < g.KH; r++)
                for (int s = 0; s < g.KW; s++, t++) offsets[t] = c * plane + r * g.DH * width + s * g.DW;
    }

    /// <summary>Bands per sample.</summary>
    public static int Bands(Conv2dGeometry g) => (g.OH + BandOutputRows(g) - 1) / BandOutputRows(g);

    /// <summary>
    /// Forward of one (sample, band) unit: copies the band's padded input rows into <paramref name="buffer"/>
    /// (<see cref="BandBufferFloats"/>) and writes output rows [oh0, oh1) of every channel of y (this sample's K planes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardBand(float* x, float* packed, float* y, Conv2dGeometry g, int band, float* buffer)
    {
        int rowsPerBand = BandOutputRows(g), oh0 = band * rowsPerBand, oh1 = Math.Min(g.OH, oh0 + rowsPerBand);
        int taps = Taps(g), panels = Panels(g), width = BandWidth(g);
        long plane = (long)BandInputRows(g, rowsPerBand) * width;
        float* tile = buffer + (long)g.C * plane;
        tile += (64 - ((nint)tile & 63)) / 4 % 16; // 64-byte aligned stores
        CopyBand(x, g, oh0, oh1, buffer, plane, width);
        int* offsets = TapOffsets(packed, g);
        float* biasPanels = packed + (long)panels * taps * Panel;
        int blocks = (g.OW + MaxTile - 1) / MaxTile;
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* row = buffer + (long)(oh - oh0) * g.SH * width;
            for (int b = 0; b < blocks; b++)
            {
                // Balanced pixel blocks: OW = 28 gives 14 + 14, OW = 20 gives 10 + 10.
                int ow0 = g.OW * b / blocks, pixels = g.OW * (b + 1) / blocks - ow0;
                for (int q = 0; q < panels; q++)
                {
                    int k0 = q * Panel, lanes = Math.Min(Panel, g.K - k0);
                    ImplicitGemmKernels.Forward(pixels, g.SW, lanes > 16 ? 2 : 1, row + ow0 * g.SW, offsets, taps,
                        packed + (long)q * taps * Panel, biasPanels + k0, tile);
                    // tile[j*32 + l] is y[k0 + l, oh, ow0 + j].
                    float* dst = y + ((long)k0 * g.OH + oh) * g.OW + ow0;
                    for (int l = 0; l < lanes; l++, dst += (long)g.OH * g.OW)
                        for (int j = 0; j < pixels; j++) dst[j] = tile[j * Panel + l];
                }
            }
        }
    }

    /// <summary>
    /// Floats of one worker's weight-gradient scratch: the band of input rows, dY of the band transposed into panels
    /// (32 floats per pixel), then the taps' offsets into the band.
    /// </summary>
    public static long WeightScratchFloats(Conv2dGeometry g) =>
        (long)g.C * BandInputRows(g, BandOutputRows(g)) * BandWidth(g) + 16 + (long)Panels(g) * Panel * BandOutputRows(g) * g.OW + Taps(g);

    /// <summary>Floats of one chunk's partial weight gradient: taps x 32 per panel.</summary>
    public static long PartialFloats(Conv2dGeometry g) => (long)Panels(g) * Taps(g) * Panel;

    /// <summary>
    /// Adds one sample's contribution to the partial gradient (<see cref="PartialFloats"/>, layout
    /// [(q*taps + t)*32 + l] for k = q*32 + l), band by band, in pixel order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightsSample(float* x, float* dy, Conv2dGeometry g, float* partial, float* scratch)
    {
        int rowsPerBand = BandOutputRows(g), taps = Taps(g), panels = Panels(g), width = BandWidth(g);
        long plane = (long)BandInputRows(g, rowsPerBand) * width;
        float* dyT = scratch + (long)g.C * plane;
        dyT += (64 - ((nint)dyT & 63)) / 4 % 16;
        int* offsets = (int*)(dyT + (long)panels * Panel * rowsPerBand * g.OW);
        FillTapOffsets(offsets, g);
        int blocks = (taps + MaxTile - 1) / MaxTile;
        for (int oh0 = 0; oh0 < g.OH; oh0 += rowsPerBand)
        {
            int oh1 = Math.Min(g.OH, oh0 + rowsPerBand), pixels = (oh1 - oh0) * g.OW;
            CopyBand(x, g, oh0, oh1, scratch, plane, width);
            TransposeGradient(dy, g, oh0, pixels, dyT);
            for (int q = 0; q < panels; q++)
            {
                int vectors = g.K - q * Panel > 16 ? 2 : 1;
                float* panel = dyT + (long)q * pixels * Panel;
                for (int b = 0; b < blocks; b++)
                {
                    int t0 = taps * b / blocks, count = taps * (b + 1) / blocks - t0;
                    ImplicitGemmKernels.Weights(count, vectors, scratch, offsets + t0, panel, oh1 - oh0, g.OW, g.SH * width, g.SW,
                        partial + ((long)q * taps + t0) * Panel);
                }
            }
        }
    }

    /// <summary>dyT[(q*pixels + p)*32 + l] = dY[q*32 + l, band pixel p] (zero past K) for the band starting at row oh0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeGradient(float* dy, Conv2dGeometry g, int oh0, int pixels, float* dyT)
    {
        int panels = Panels(g);
        long outPlane = (long)g.OH * g.OW;
        float* src0 = dy + (long)oh0 * g.OW;
        for (int q = 0; q < panels; q++)
        {
            float* dst = dyT + (long)q * pixels * Panel;
            int k0 = q * Panel, lanes = Math.Min(Panel, g.K - k0);
            if (lanes < Panel) new Span<float>(dst, pixels * Panel).Clear();
            for (int l = 0; l < lanes; l++)
            {
                float* src = src0 + (k0 + l) * outPlane;
                for (int p = 0; p < pixels; p++) dst[p * Panel + l] = src[p];
            }
        }
    }

    /// <summary>
    /// Writes the padded input rows of output rows [oh0, oh1) for every channel: band row i is input row
    /// oh0*SH - PT + i, band column j is input column j - PL; everything outside the input is zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyBand(float* x, Conv2dGeometry g, int oh0, int oh1, float* band, long plane, int width)
    {
        int rows = BandInputRows(g, oh1 - oh0), ih0 = oh0 * g.SH - g.PadTop;
        int j0 = Math.Min(width, g.PadLeft), j1 = Math.Clamp(g.PadLeft + g.W, j0, width); // band columns holding input
        for (int c = 0; c < g.C; c++)
        {
            float* src = x + (long)c * g.H * g.W, dst = band + c * plane;
            for (int i = 0; i < rows; i++, dst += width)
            {
                int ih = ih0 + i;
                if ((uint)ih >= (uint)g.H)
                {
                    VectorRuns.Zero(dst, width);
                    continue;
                }
                VectorRuns.Zero(dst, j0);
                VectorRuns.Copy(src + (long)ih * g.W + j0 - g.PadLeft, dst + j0, j1 - j0);
                VectorRuns.Zero(dst + j1, width - j1);
            }
        }
    }
}
