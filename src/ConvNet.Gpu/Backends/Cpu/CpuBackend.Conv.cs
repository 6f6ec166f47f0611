using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using ConvNet.Gpu.Backends.Cpu.Conv;
using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu;

// Convolution as im2col + packed SGEMM (per sample, per group, per block of output rows whose columns fit in L2):
//   forward          Y[n]_g (K/G x OH*OW)     = W_g (K/G x C/G*KH*KW) * cols(X[n])_g (C/G*KH*KW x OH*OW)   (+ bias)
//   backward-data    dcols_g (C/G*KH*KW x OH*OW) = W_g^T * dY[n]_g, then col2im into dX[n]
//   backward-weights dW_g (K/G x C/G*KH*KW)   = sum over n of dY[n]_g * cols(X[n])_g^T
// A 1x1 kernel with stride 1 and no padding skips im2col/col2im: X[n] viewed as (C x H*W) is its own column matrix.
// Depthwise convolutions (groups = C) skip GEMM altogether and run direct per-plane loops (DepthwiseConv).
// Threads: with enough samples, workers (one workspace slot each, single-threaded GEMMs) pull samples from a shared
// counter, which keeps both cores busy even when one is slowed by other processes; otherwise samples run one after
// another and the GEMM and im2col/col2im split across threads. Backward-weights splits the batch into fixed chunks,
// each summed into its own partial, and adds the partials in chunk order: bitwise reproducible however the chunks
// were scheduled (for a given thread count).
// Not thread-safe across concurrent calls on one backend (the workspace is shared), like the rest of the backend.
public sealed unsafe partial class CpuBackend
{
    private ConvWorkspace? _convWorkspace;

    /// <summary>The convolution scratch buffers (created on first use; grows to the largest layer seen).</summary>
    private ConvWorkspace Workspace => _convWorkspace ??= new ConvWorkspace();

    /// <summary>Bytes held by the convolution workspace (im2col columns and weight-gradient partials).</summary>
    internal long WorkspaceBytes => _convWorkspace?.Bytes ?? 0;

    /// <inheritdoc/>
    protected override void Im2ColCore(Tensor input, Tensor columns, Conv2dGeometry g)
    {
        float* x = Ptr(input), cols = Ptr(columns);
        long inStride = (long)g.C * g.InputPlane, colStride = (long)g.ColumnRows * g.OutputPlane;
        ForSamplesOrChannels(g.N, g.C, (n, c0, c1) => ConvColumns.Im2Col(x + n * inStride, cols + n * colStride, g, c0, c1));
    }

    /// <inheritdoc/>
    protected override void Col2ImCore(Tensor columns, Tensor input, Conv2dGeometry g)
    {
        float* x = Ptr(input), cols = Ptr(columns);
        long inStride = (long)g.C * g.InputPlane, colStride = (long)g.ColumnRows * g.OutputPlane;
        ForSamplesOrChannels(g.N, g.C, (n, c0, c1) => ConvColumns.Col2Im(cols + n * colStride, x + n * inStride, g, c0, c1));
    }

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g)
    {
        float* x = Ptr(input), w = Ptr(weight), y = Ptr(output);
        float* b = bias is null ? null : Ptr(bias);
        int kg = g.KPerGroup, rows = g.ColumnRowsPerGroup, plane = g.OutputPlane;
        if (DepthwiseConv.Applies(g))
        {
            // Planes (n, k): output channel k reads input channel k / kg with filter k.
            ForRanges(g.N * g.K, g.MacCount, (p0, p1) =>
            {
                for (int p = p0; p < p1; p++)
                {
                    int n = p / g.K, k = p % g.K;
                    DepthwiseConv.Forward(x + ((long)n * g.C + k / kg) * g.InputPlane, w + (long)k * g.KH * g.KW,
                        b == null ? 0f : b[k], y + (long)p * plane, g);
                }
            });
            return;
        }
        switch (ChooseConvAlgorithm(g, CpuConvPass.Forward).Algorithm)
        {
            case CpuConvAlgorithm.WinogradF2x3: RunWinograd(x, w, b, y, g, backwardData: false); return;
            case CpuConvAlgorithm.DirectSmallChannel: SmallChannelForward(x, w, b, y, g); return;
            case CpuConvAlgorithm.ImplicitGemm: ImplicitGemmForward(x, w, b, y, g); return;
        }
        bool pointwise = IsPointwise(g);
        int step = pointwise ? g.OH : OutputRowsPerBlock(g);
        ForEachSample(g, (slot, n, par) =>
        {
            float* xn = x + n * g.C * (long)g.InputPlane, yn = y + n * g.K * (long)plane;
            float* cols = pointwise ? xn : Workspace.Get(slot, WorkspaceLane.Columns, (long)g.ColumnRows * step * g.OW);
            // Output rows in blocks whose columns fit in L2: Y[:, block] = W * cols(block).
            for (int oh0 = 0; oh0 < g.OH; oh0 += step)
            {
                int oh1 = Math.Min(g.OH, oh0 + step), px = (oh1 - oh0) * g.OW;
                if (!pointwise) ForChannels(g.C, par, (c0, c1) => ConvColumns.Im2Col(xn, cols, g, c0, c1, oh0, oh1));
                for (int grp = 0; grp < g.Groups; grp++)
                    PackedSgemm.Run(false, false, kg, px, rows, 1f, w + (long)grp * kg * rows, rows,
                        cols + (long)grp * rows * px, px, 0f, yn + (long)grp * kg * plane + oh0 * g.OW, plane, par);
            }
            if (b != null) AddChannelBias(yn, b, 0, g.K, g.K, plane);
        });
    }

    /// <inheritdoc/>
    protected override void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g)
    {
        float* dy = Ptr(gradOutput), w = Ptr(weight), dx = Ptr(gradInput);
        int kg = g.KPerGroup, rows = g.ColumnRowsPerGroup, plane = g.OutputPlane;
        if (DepthwiseConv.Applies(g))
        {
            // Planes (n, c): input channel c collects output channels [c*kg, (c+1)*kg).
            ForRanges(g.N * g.C, g.MacCount, (p0, p1) =>
            {
                for (int p = p0; p < p1; p++)
                {
                    int n = p / g.C, c = p % g.C;
                    DepthwiseConv.BackwardData(dy + ((long)n * g.K + c * kg) * plane, w + (long)c * kg * g.KH * g.KW, kg,
                        dx + (long)p * g.InputPlane, g);
                }
            });
            return;
        }
        switch (ChooseConvAlgorithm(g, CpuConvPass.BackwardData).Algorithm)
        {
            case CpuConvAlgorithm.WinogradF2x3: RunWinograd(dy, w, null, dx, g, backwardData: true); return;
            case CpuConvAlgorithm.DirectSmallChannel: SmallChannelBackwardData(dy, w, dx, g); return;
        }
        bool pointwise = IsPointwise(g);
        int step = pointwise ? g.OH : OutputRowsPerBlock(g);
        ForEachSample(g, (slot, n, par) =>
        {
            float* dyn = dy + n * g.K * (long)plane, dxn = dx + n * g.C * (long)g.InputPlane;
            if (pointwise)
            {
                // dX[n] (C x HW) is the column gradient itself.
                for (int grp = 0; grp < g.Groups; grp++)
                    PackedSgemm.Run(true, false, rows, plane, kg, 1f, w + (long)grp * kg * rows, rows,
                        dyn + (long)grp * kg * plane, plane, 0f, dxn + (long)grp * rows * plane, plane, par);
                return;
            }
            // Output rows in blocks: dcols(block) = W^T * dY[:, block], then col2im adds the block into dX[n].
            float* dcols = Workspace.Get(slot, WorkspaceLane.Columns, (long)g.ColumnRows * step * g.OW);
            for (int oh0 = 0; oh0 < g.OH; oh0 += step)
            {
                int oh1 = Math.Min(g.OH, oh0 + step), px = (oh1 - oh0) * g.OW;
                for (int grp = 0; grp < g.Groups; grp++)
                    PackedSgemm.Run(true, false, rows, px, kg, 1f, w + (long)grp * kg * rows, rows,
                        dyn + (long)grp * kg * plane + oh0 * g.OW, plane, 0f, dcols + (long)grp * rows * px, px, par);
                bool first = oh0 == 0;
                ForChannels(g.C, par, (c0, c1) => ConvColumns.Col2Im(dcols, dxn, g, c0, c1, oh0, oh1, first));
            }
        });
    }

    /// <inheritdoc/>
    protected override void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate)
    {
        float* x = Ptr(input), dy = Ptr(gradOutput), dw = Ptr(gradWeight);
        int kg = g.KPerGroup, rows = g.ColumnRowsPerGroup, plane = g.OutputPlane;
        long weightCount = (long)g.K * rows;
        if (DepthwiseConv.Applies(g))
        {
            // One output channel per task, summed over the whole batch in order: deterministic under any schedule.
            ForRanges(g.K, g.MacCount, (k0, k1) =>
            {
                for (int k = k0; k < k1; k++)
                    DepthwiseConv.BackwardWeights(x + (long)(k / kg) * g.InputPlane, (long)g.C * g.InputPlane,
                        dy + (long)k * plane, (long)g.K * plane, dw + (long)k * g.KH * g.KW, accumulate, g);
            });
            return;
        }
        switch (ChooseConvAlgorithm(g, CpuConvPass.BackwardWeights).Algorithm)
        {
            case CpuConvAlgorithm.DirectSmallChannel: SmallChannelBackwardWeights(x, dy, dw, g, accumulate); return;
            case CpuConvAlgorithm.WinogradF2x3: RunWinogradWeights(x, dy, dw, g, accumulate); return;
            case CpuConvAlgorithm.ImplicitGemm: ImplicitGemmBackwardWeights(x, dy, dw, g, accumulate); return;
        }
        bool pointwise = IsPointwise(g);

        int step = pointwise ? g.OH : OutputRowsPerBlock(g);
        // Per group, dW_g (kg x rows) = dY_g cols^T, or its transpose dW_g^T (rows x kg) = cols dY_g^T, whichever wastes
        // fewer lanes of the register tiles (e.g. a 3x3 single-channel layer has rows = 9: as the N side of the tile it
        // would use 9 of 32 lanes). The transposed form sums into a workspace buffer that is transposed into dW at the end.
        bool transposed = PackedSgemm.PaddedTileWork(rows, kg) < PackedSgemm.PaddedTileWork(kg, rows);

        // dW (+)= dY[n][:, block] * cols(X[n], block)^T (or the transposed product) for samples [n0, n1) and output-row
        // blocks, in order; the very first product overwrites unless told to accumulate.
        void SumSamples(int slot, long n0, long n1, float* target, bool accumulateFirst, ParallelOptions? par)
        {
            float* cols = pointwise ? null : Workspace.Get(slot, WorkspaceLane.Columns, (long)g.ColumnRows * step * g.OW);
            for (long n = n0; n < n1; n++)
            {
                float* xn = x + n * g.C * (long)g.InputPlane, dyn = dy + n * g.K * (long)plane;
                for (int oh0 = 0; oh0 < g.OH; oh0 += step)
                {
                    int oh1 = Math.Min(g.OH, oh0 + step), px = (oh1 - oh0) * g.OW;
                    float beta = n > n0 || oh0 > 0 || accumulateFirst ? 1f : 0f;
                    if (pointwise) cols = xn;
                    else ForChannels(g.C, par, (c0, c1) => ConvColumns.Im2Col(xn, cols, g, c0, c1, oh0, oh1));
                    for (int grp = 0; grp < g.Groups; grp++)
                    {
                        float* dyBlock = dyn + (long)grp * kg * plane + oh0 * g.OW, colBlock = cols + (long)grp * rows * px;
                        float* t = target + (long)grp * kg * rows;
                        if (transposed)
                            PackedSgemm.Run(false, true, rows, kg, px, 1f, colBlock, px, dyBlock, plane, beta, t, kg, par);
                        else
                            PackedSgemm.Run(false, true, kg, rows, px, 1f, dyBlock, plane, colBlock, px, beta, t, rows, par);
                    }
                }
            }
        }

        // Writes (or adds) a summed buffer in the transposed layout into dW.
        void TransposeInto(float* sum)
        {
            for (int grp = 0; grp < g.Groups; grp++)
            {
                float* src = sum + (long)grp * kg * rows, dst = dw + (long)grp * kg * rows;
                for (int k = 0; k < kg; k++)
                    for (int r = 0; r < rows; r++)
                        dst[(long)k * rows + r] = accumulate ? dst[(long)k * rows + r] + src[(long)r * kg + k] : src[(long)r * kg + k];
            }
        }

        int workers = SampleWorkers(g.N);
        if (workers == 1)
        {
            var par = Threads > 1 ? Parallelism : null;
            if (!transposed)
            {
                SumSamples(0, 0, g.N, dw, accumulate, par);
                return;
            }
            float* sum = Workspace.Get(0, WorkspaceLane.WeightPartial, weightCount);
            SumSamples(0, 0, g.N, sum, false, par);
            TransposeInto(sum);
            return;
        }

        // Fixed chunks (a few per worker, so a slowed core can be compensated), each with its own partial in the
        // WeightPartial lane of slot = chunk index; workers use their own slot's Columns lane.
        int chunks = ChunkedSum.Chunks(g.N, workers);
        Workspace.EnsureSlots(Math.Max(chunks, workers));
        ChunkedSum.Run(Workers, workers, chunks, (slot, chunk) =>
        {
            long n0 = (long)g.N * chunk / chunks, n1 = (long)g.N * (chunk + 1) / chunks;
            SumSamples(slot, n0, n1, Workspace.Get(chunk, WorkspaceLane.WeightPartial, weightCount), false, null);
        });
        // Partials are added in chunk order into chunk 0's buffer, then written (or added) to dW.
        var total = new Span<float>(ChunkedSum.AddInOrder(c => (nint)Workspace.Get(c, WorkspaceLane.WeightPartial, weightCount), chunks, weightCount), (int)weightCount);
        if (transposed)
        {
            fixed (float* sum = total) TransposeInto(sum);
            return;
        }
        var result = new Span<float>(dw, (int)weightCount);
        if (accumulate) TensorPrimitives.Add(result, total, result);
        else total.CopyTo(result);
    }

    /// <inheritdoc/>
    protected override void BiasAddCore(Tensor output, Tensor bias)
    {
        float* y = Ptr(output), b = Ptr(bias);
        int n = output.Shape[0], c = output.Shape[1];
        int rest = (int)(output.ElementCount / ((long)n * c));
        // Planes p = (sample, channel) of `rest` elements; a dense layer (N, C) is rows of C planes of length 1.
        if (rest == 1)
            ForRanges(n, (long)n * c, (r0, r1) => AddBiasRows(y, b, r0, r1, c));
        else
            ForRanges(n * c, (long)n * c * rest, (p0, p1) => AddChannelBias(y, b, p0, p1, c, rest));
    }

    /// <inheritdoc/>
    protected override void BiasGradientCore(Tensor gradOutput, Tensor gradBias, bool accumulate)
    {
        float* dy = Ptr(gradOutput), db = Ptr(gradBias);
        int n = gradOutput.Shape[0], c = gradOutput.Shape[1];
        int rest = (int)(gradOutput.ElementCount / ((long)n * c));
        // Each channel is summed by one thread in a fixed order (per plane in float, across planes in double), so the
        // result does not depend on scheduling.
        ForRanges(c, (long)n * c * rest, (c0, c1) => SumChannels(dy, db, c0, c1, n, c, rest, accumulate));
    }

    /// <summary>Planes [p0, p1) of (N*C, rest) data: plane p gets bias[p % c].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddChannelBias(float* y, float* bias, int p0, int p1, int c, int rest)
    {
        for (int p = p0; p < p1; p++) VectorRuns.AddScalar(y + (long)p * rest, bias[p % c], rest);
    }

    /// <summary>Rows [r0, r1) of an (N, C) matrix each get the bias vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddBiasRows(float* y, float* bias, int r0, int r1, int c)
    {
        for (int r = r0; r < r1; r++) VectorRuns.Add(bias, y + (long)r * c, c);
    }

    /// <summary>db[ch] (+)= sum over samples and the plane, for channels [c0, c1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumChannels(float* dy, float* db, int c0, int c1, int n, int c, int rest, bool accumulate)
    {
        for (int ch = c0; ch < c1; ch++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += VectorRuns.Sum(dy + ((long)i * c + ch) * rest, rest);
            db[ch] = accumulate ? db[ch] + (float)s : (float)s;
        }
    }

    /// <summary>Winograd F(2x2, 3x3) forward (x -> y) or backward-data (dY -> dX): filters transformed once per call.</summary>
    private void RunWinograd(float* src, float* w, float* bias, float* dst, Conv2dGeometry g, bool backwardData)
    {
        int workers = Math.Min(Threads, g.N * g.DH * g.DH);
        Workspace.EnsureSlots(Math.Max(1, workers));
        // The filters live in slot 0's WeightPartial lane; every worker's tiles use its own slot's Columns lane.
        float* u = Workspace.Get(0, WorkspaceLane.WeightPartial, WinogradConv.FilterFloats(g, backwardData));
        WinogradConv.TransformFilters(w, g, backwardData, u);
        var workspace = Workspace;
        WinogradConv.Run(src, u, bias, dst, g, backwardData, workers,
            (slot, floats) => (nint)workspace.Get(slot, WorkspaceLane.Columns, floats), Workers);
    }

    /// <summary>Winograd F(3x3, 2x2) weight gradient: per-chunk partial sums in the WeightPartial lanes, tiles in Columns.</summary>
    private void RunWinogradWeights(float* x, float* dy, float* dw, Conv2dGeometry g, bool accumulate)
    {
        int units = g.N * g.DH * g.DH, workers = Math.Min(Threads, units);
        Workspace.EnsureSlots(Math.Max(workers, ChunkedSum.Chunks(units, workers)));
        var workspace = Workspace;
        long partialFloats = WinogradWeights.PartialFloats(g);
        WinogradWeights.Run(x, dy, dw, g, accumulate, workers,
            chunk => (nint)workspace.Get(chunk, WorkspaceLane.WeightPartial, partialFloats),
            (slot, floats) => (nint)workspace.Get(slot, WorkspaceLane.Columns, floats), Workers);
    }

    // ------------------------------------------------------------ scheduling helpers

    private static bool IsPointwise(Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0;

    /// <summary>
    /// Floats of im2col columns built per block (default 128K = 512 KB, about half of a Zen 4 / recent Intel L2): the
    /// GEMM's packing reads them back while they are still in L2 instead of from L3 or memory. Tests shrink it to
    /// exercise multi-block paths on small shapes.
    /// </summary>
    internal int ColumnBlockFloats { get; set; } = 1 << 17;

    /// <summary>Output rows per column block: as many as fit in <see cref="ColumnBlockFloats"/>, at least one.</summary>
    private int OutputRowsPerBlock(Conv2dGeometry g) =>
        (int)Math.Clamp(ColumnBlockFloats / ((long)g.ColumnRows * g.OW), 1, g.OH);

    /// <summary>
    /// Workers that take whole samples: all threads when the batch splits evenly or is large enough that the last
    /// uneven round costs little; otherwise 1 (the samples then run in turn, each using every thread inside).
    /// </summary>
    private int SampleWorkers(int n) =>
        Threads > 1 && n >= Threads && (n % Threads == 0 || n >= 4 * Threads) ? Threads : 1;

    private delegate void SampleBody(int slot, long n, ParallelOptions? par);

    /// <summary>
    /// Runs <paramref name="body"/> for every sample. Sample-parallel: the backend's workers (slot s, par = null) each
    /// repeatedly take the next unclaimed sample. Otherwise samples run in order on slot 0 with par = the backend's options.
    /// Only for bodies whose result does not depend on which worker ran a sample.
    /// </summary>
    private void ForEachSample(Conv2dGeometry g, SampleBody body)
    {
        int workers = SampleWorkers(g.N);
        Workspace.EnsureSlots(workers);
        if (workers == 1)
        {
            for (long n = 0; n < g.N; n++) body(0, n, Threads > 1 ? Parallelism : null);
            return;
        }
        Workers.Run(g.N, (slot, n) => body(slot, n, null)); // slots < min(N, Threads) = workers
    }

    /// <summary>Runs <paramref name="body"/> over channel ranges: one range on the calling thread, or split across threads.</summary>
    private static void ForChannels(int channels, ParallelOptions? par, Action<int, int> body)
    {
        int parts = par is null ? 1 : Math.Min(channels, par.MaxDegreeOfParallelism > 0 ? par.MaxDegreeOfParallelism : Environment.ProcessorCount);
        if (parts <= 1) { body(0, channels); return; }
        Parallel.For(0, parts, par!, p => body(channels * p / parts, channels * (p + 1) / parts));
    }

    /// <summary>Samples in parallel when there are enough, else each sample split over its channels.</summary>
    private void ForSamplesOrChannels(int n, int channels, Action<long, int, int> body)
    {
        if (SampleWorkers(n) > 1)
            Workers.Run(n, (_, i) => body(i, 0, channels));
        else
            for (long i = 0; i < n; i++) ForChannels(channels, Threads > 1 ? Parallelism : null, (c0, c1) => body(i, c0, c1));
    }

    /// <summary>Splits [0, count) into one contiguous range per thread when the work (elements touched) is worth it.</summary>
    private void ForRanges(int count, long work, Action<int, int> body)
    {
        int parts = work < 1 << 15 ? 1 : Math.Min(Threads, count);
        if (parts <= 1) { body(0, count); return; }
        Workers.Run(parts, (_, p) => body((int)((long)count * p / parts), (int)((long)count * (p + 1) / parts)));
    }
}
