using ConvNet.Gpu.Backends.Cpu.Conv;

namespace ConvNet.Gpu.Backends.Cpu;

// The direct small-channel convolutions (SmallChannelConv) wired to the backend: weight layouts, padded planes and the
// per-sample schedule. Chosen by ChooseConvAlgorithm (CpuConvAlgorithm.DirectSmallChannel).
public sealed unsafe partial class CpuBackend
{
    /// <summary>Forward: per sample, pad x, then the direct kernel over output rows (filters transposed to 16 lanes once per call).</summary>
    private void SmallChannelForward(float* x, float* w, float* b, float* y, Conv2dGeometry g)
    {
        int taps = g.C * g.KH * g.KW, lanes = SmallChannelConv.Lanes;
        int hp = (g.OH - 1) * g.SH + g.DH * (g.KH - 1) + 1, wp = (g.OW - 1) * g.SW + g.DW * (g.KW - 1) + 1;
        // wt[t][k] = w[k][t] (zero past K), then the bias in 16 lanes.
        float* wt = Workspace.Get(0, WorkspaceLane.WeightPartial, (long)(taps + 1) * lanes);
        VectorRuns.Zero(wt, (taps + 1) * lanes);
        for (int k = 0; k < g.K; k++)
        {
            for (int t = 0; t < taps; t++) wt[t * lanes + k] = w[(long)k * taps + t];
            if (b != null) wt[taps * lanes + k] = b[k];
        }
        float* bias16 = b == null ? null : wt + taps * lanes;
        if (SmallChannelConv.PixelLanes(g))
        {
            // Stride 1: padded planes wide enough for whole 32-pixel segments of every output row.
            int segs = SmallChannelRows.Segments(g.OW);
            int rowsP = g.OH + g.DH * (g.KH - 1), colsP = SmallChannelRows.Segment * segs + g.DW * (g.KW - 1);
            ForEachSample(g, (slot, n, _) =>
            {
                long padded = (long)g.C * rowsP * colsP;
                float* xp = Workspace.Get(slot, WorkspaceLane.Columns, padded + 16 + SmallChannelRows.MaxChannels * SmallChannelRows.Segment + taps + 64);
                float* tmp = xp + (padded + 15) / 16 * 16 + 16; // 16 floats of slack: the last segment's loads may run past the planes
                int* tapOffsets = (int*)(tmp + SmallChannelRows.MaxChannels * SmallChannelRows.Segment);
                FillTapOffsets(tapOffsets, g, rowsP, colsP);
                SmallChannelConv.PadPlanes(x + n * g.C * (long)g.InputPlane, g.C, g.H, g.W, g.PadTop, g.PadLeft, xp, rowsP, colsP);
                SmallChannelRows.Forward(xp, colsP, wt, taps, tapOffsets, b, y + n * g.K * (long)g.OutputPlane, g.K, g.OH, g.OW, tmp);
            });
            return;
        }
        ForEachSample(g, (slot, n, _) =>
        {
            long padded = (long)g.C * hp * wp;
            float* xp = Workspace.Get(slot, WorkspaceLane.Columns, padded + taps + 16 * lanes + 64);
            float* tmp = xp + (padded + 15) / 16 * 16;
            int* tapOffsets = (int*)(tmp + 16 * lanes);
            SmallChannelConv.PadPlanes(x + n * g.C * (long)g.InputPlane, g.C, g.H, g.W, g.PadTop, g.PadLeft, xp, hp, wp);
            SmallChannelConv.Direct(xp, g.C, hp, wp, g.KH, g.KW, g.DH, g.DW, g.SH, g.SW, wt, bias16,
                y + n * g.K * (long)g.OutputPlane, g.K, g.OH, g.OW, tapOffsets, tmp);
        });
    }

    /// <summary>
    /// Backward-data (stride 1): the channel-lane kernel on dY padded by d(k - 1) - pad with the filters flipped and
    /// transposed when it applies, else the pixel-lane kernel over dX rows (<see cref="PixelRowsBackwardData"/>).
    /// </summary>
    private void SmallChannelBackwardData(float* dy, float* w, float* dx, Conv2dGeometry g)
    {
        if (!SmallChannelConv.AppliesBackwardData(g))
        {
            PixelRowsBackwardDataRun(dy, w, dx, g);
            return;
        }
        int taps = g.K * g.KH * g.KW, lanes = SmallChannelConv.Lanes;
        int top = g.DH * (g.KH - 1) - g.PadTop, left = g.DW * (g.KW - 1) - g.PadLeft;
        int hp = g.H + g.DH * (g.KH - 1), wp = g.W + g.DW * (g.KW - 1);
        // wt[(k, r, s)][c] = w[k][c][KH-1-r][KW-1-s].
        float* wt = Workspace.Get(0, WorkspaceLane.WeightPartial, (long)taps * lanes);
        VectorRuns.Zero(wt, taps * lanes);
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
                for (int r = 0; r < g.KH; r++)
                    for (int s = 0; s < g.KW; s++)
                        wt[((k * g.KH + r) * g.KW + s) * lanes + c] = w[(((long)k * g.C + c) * g.KH + g.KH - 1 - r) * g.KW + g.KW - 1 - s];
        ForEachSample(g, (slot, n, _) =>
        {
            long padded = (long)g.K * hp * wp;
            float* dyp = Workspace.Get(slot, WorkspaceLane.Columns, padded + taps + 16 * lanes + 64);
            float* tmp = dyp + (padded + 15) / 16 * 16;
            int* tapOffsets = (int*)(tmp + 16 * lanes);
            SmallChannelConv.PadPlanes(dy + n * g.K * (long)g.OutputPlane, g.K, g.OH, g.OW, top, left, dyp, hp, wp);
            SmallChannelConv.Direct(dyp, g.K, hp, wp, g.KH, g.KW, g.DH, g.DW, 1, 1, wt, null,
                dx + n * g.C * (long)g.InputPlane, g.C, g.H, g.W, tapOffsets, tmp);
        });
    }

    /// <summary>Pixel-lane backward-data: weights rearranged once per call, then one padded dY stack per sample and worker.</summary>
    private void PixelRowsBackwardDataRun(float* dy, float* w, float* dx, Conv2dGeometry g)
    {
        float* wr = Workspace.Get(0, WorkspaceLane.WeightPartial, g.WeightShape.ElementCount);
        PixelRowsBackwardData.ArrangeWeights(w, g, wr);
        long padded = PixelRowsBackwardData.PaddedFloats(g);
        ForEachSample(g, (slot, n, _) => PixelRowsBackwardData.Sample(dy + n * g.K * (long)g.OutputPlane, wr,
            dx + n * g.C * (long)g.InputPlane, g, Workspace.Get(slot, WorkspaceLane.Columns, padded)));
    }

    /// <summary>
    /// Backward-weights: per sample, x padded and dY transposed to pixel-major 16-lane vectors; fixed chunks of samples
    /// sum into their own partial (taps x 16), and the partials are added in chunk order.
    /// </summary>
    private void SmallChannelBackwardWeights(float* x, float* dy, float* dw, Conv2dGeometry g, bool accumulate)
    {
        if (SmallChannelConv.PixelLanes(g))
        {
            PixelLaneBackwardWeights(x, dy, dw, g, accumulate);
            return;
        }
        int taps = g.C * g.KH * g.KW, lanes = SmallChannelConv.Lanes, pixels = g.OutputPlane;
        int hp = (g.OH - 1) * g.SH + g.DH * (g.KH - 1) + 1, wp = (g.OW - 1) * g.SW + g.DW * (g.KW - 1) + 1;
        int workers = SampleWorkers(g.N);
        int chunks = ChunkedSum.Chunks(g.N, workers);
        Workspace.EnsureSlots(Math.Max(chunks, workers));
        long partialFloats = (long)taps * lanes;

        void Chunk(int slot, int chunk)
        {
            long n0 = (long)g.N * chunk / chunks, n1 = (long)g.N * (chunk + 1) / chunks;
            float* partial = Workspace.Get(chunk, WorkspaceLane.WeightPartial, partialFloats);
            VectorRuns.Zero(partial, (int)partialFloats);
            long padded = (long)g.C * hp * wp;
            float* xp = Workspace.Get(slot, WorkspaceLane.Columns, padded + (long)pixels * lanes + pixels + taps + 64);
            float* dyT = xp + (padded + 15) / 16 * 16;
            int* pixelOffsets = (int*)(dyT + (long)pixels * lanes);
            int* tapOffsets = pixelOffsets + pixels;
            for (int oh = 0, i = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++, i++) pixelOffsets[i] = oh * g.SH * wp + ow * g.SW;
            FillTapOffsets(tapOffsets, g, hp, wp);
            VectorRuns.Zero(dyT, pixels * lanes);
            for (long n = n0; n < n1; n++)
            {
                SmallChannelConv.PadPlanes(x + n * g.C * (long)g.InputPlane, g.C, g.H, g.W, g.PadTop, g.PadLeft, xp, hp, wp);
                float* dyn = dy + n * g.K * (long)pixels;
                for (int k = 0; k < g.K; k++)
                    for (int i = 0; i < pixels; i++) dyT[i * lanes + k] = dyn[(long)k * pixels + i];
                for (int t0 = 0; t0 < taps; t0 += 14)
                    SmallChannelConv.WeightBlock(Math.Min(14, taps - t0), xp, pixelOffsets, dyT, pixels, tapOffsets + t0, partial + t0 * lanes);
            }
        }

        ChunkedSum.Run(Workers, workers, chunks, Chunk);
        // Partials in chunk order into chunk 0's, then dW[k][t] (+)= total[t][k].
        float* total = ChunkedSum.AddInOrder(c => (nint)Workspace.Get(c, WorkspaceLane.WeightPartial, partialFloats), chunks, partialFloats);
        for (int k = 0; k < g.K; k++)
            for (int t = 0; t < taps; t++)
            {
                float v = total[t * lanes + k];
                dw[(long)k * taps + t] = accumulate ? dw[(long)k * taps + t] + v : v;
            }
    }

    /// <summary>
    /// Pixel-lane backward-weights (stride 1, very few output channels): per chunk of samples, lane sums per (tap, k)
    /// accumulate x segments times dY segments; partials are added in chunk order and each one's 16 lanes summed in
    /// lane order.
    /// </summary>
    private void PixelLaneBackwardWeights(float* x, float* dy, float* dw, Conv2dGeometry g, bool accumulate)
    {
        int taps = g.C * g.KH * g.KW, segs = SmallChannelRows.Segments(g.OW), dyRow = SmallChannelRows.Segment * segs;
        int rowsP = g.OH + g.DH * (g.KH - 1), colsP = dyRow + g.DW * (g.KW - 1);
        int workers = SampleWorkers(g.N);
        int chunks = ChunkedSum.Chunks(g.N, workers);
        Workspace.EnsureSlots(Math.Max(chunks, workers));
        long partialFloats = (long)taps * g.K * 16;

        void Chunk(int slot, int chunk)
        {
            long n0 = (long)g.N * chunk / chunks, n1 = (long)g.N * (chunk + 1) / chunks;
            float* partial = Workspace.Get(chunk, WorkspaceLane.WeightPartial, partialFloats);
            VectorRuns.Zero(partial, (int)partialFloats);
            long padded = (long)g.C * rowsP * colsP, dyFloats = (long)g.K * g.OH * dyRow;
            float* xp = Workspace.Get(slot, WorkspaceLane.Columns, padded + 32 + dyFloats + taps + 64);
            float* dyp = xp + (padded + 15) / 16 * 16 + 32;
            int* tapOffsets = (int*)(dyp + dyFloats);
            FillTapOffsets(tapOffsets, g, rowsP, colsP);
            for (long n = n0; n < n1; n++)
            {
                SmallChannelConv.PadPlanes(x + n * g.C * (long)g.InputPlane, g.C, g.H, g.W, g.PadTop, g.PadLeft, xp, rowsP, colsP);
                SmallChannelConv.PadPlanes(dy + n * g.K * (long)g.OutputPlane, g.K, g.OH, g.OW, 0, 0, dyp, g.OH, dyRow);
                SmallChannelRows.WeightSums(xp, colsP, dyp, dyRow, g.OH, segs, g.K, taps, tapOffsets, partial);
            }
        }

        ChunkedSum.Run(Workers, workers, chunks, Chunk);
        float* total = ChunkedSum.AddInOrder(c => (nint)Workspace.Get(c, WorkspaceLane.WeightPartial, partialFloats), chunks, partialFloats);
        for (int t = 0; t < taps; t++)
            for (int k = 0; k < g.K; k++)
            {
                float* lanes = total + ((long)t * g.K + k) * 16;
                float v = 0f;
                for (int l = 0; l < 16; l++) v += lanes[l];
                long at = (long)k * taps + t;
                dw[at] = accumulate ? dw[at] + v : v;
            }
    }

    /// <summary>offsets[(c, r, s)] = c*rows*cols + r*DH*cols + s*DW: where tap (c, r, s) sits in a stack of padded planes.</summary>
    private static void FillTapOffsets(int* offsets, Conv2dGeometry g, int rows, int cols)
    {
        for (int c = 0, t = 0; c < g.C; c++)
            for (int r = 0; r < g.KH; r++)
                for (int s = 0; s < g.KW; s++, t++) offsets[t] = c * rows * cols + r * g.DH * cols + s * g.DW;
    }
}
