using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Convolution as GEMM (Caffe base_conv_layer): im2col of a chunk of samples into a workspace, then per group ONE
// strided-batched SGEMM over the chunk, then the bias and activation epilogue (epilogue.cu) in one pass; backward-data
// is the transposed GEMM followed by col2im (a gather); backward-weights lays columns out as (C*KH*KW, N*OH*OW) so each
// group's dW is a single GEMM that sums over the whole batch inside cuBLAS (deterministic, beta = 1 accumulates). The
// fused layer backward (Conv2dBackwardCore with an epilogue) starts with one prologue kernel that reads dL/dy once and
// writes dL/dz transposed to (K, N*OH*OW) with the bias gradient: both GEMMs read that layout, so no separate transpose
// runs. The chunk is the whole batch unless the columns would exceed CudaBackendOptions.MaxWorkspaceBytes.
public sealed partial class CudaBackend
{
    private const int ColumnsSlot = 0;   // im2col columns
    private const int GradOutputSlot = 1; // dY (or dZ) transposed to (K, N*OH*OW) for backward-weights

    /// <inheritdoc/>
    protected override void Im2ColCore(Tensor input, Tensor columns, Conv2dGeometry g) =>
        LaunchIm2Col(Ptr(input), Ptr(columns), g, g.N, (long)g.ColumnRows * g.OutputPlane, g.OutputPlane);

    /// <inheritdoc/>
    protected override void Col2ImCore(Tensor columns, Tensor input, Conv2dGeometry g) =>
        LaunchCol2Im(Ptr(columns), Ptr(input), g, g.N);

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g) =>
        Conv2dForwardCore(input, weight, bias, output, g, Epilogue.None);

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g, Epilogue epilogue)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        bool direct = IsPointwise(g);
        int chunk = direct ? g.N : SamplesPerChunk(colSample);
        ulong x = Ptr(input), w = Ptr(weight), y = Ptr(output);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            ulong xChunk = x + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong yChunk = y + (ulong)((long)n0 * g.K * plane) * 4;
            // Columns (count, C*KH*KW, OH*OW); a 1x1/stride-1/unpadded conv reads the input as its own columns.
            ulong cols = xChunk;
            if (!direct)
            {
                cols = WorkspaceFloats(ColumnsSlot, count * colSample);
                LaunchIm2Col(xChunk, cols, g, count, colSample, plane);
            }
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // Y_g[n] (K/G x OH*OW) = W_g (K/G x C/G*KH*KW) * cols_g[n] (C/G*KH*KW x OH*OW), for every n at once.
                RowMajorGemmStridedBatched(false, false, kG, plane, rowsG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    cols + (ulong)((long)grp * rowsG * plane) * 4, colSample,
                    0f, yChunk + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane, count);
            }
        }
        LaunchBiasActivation(output, bias, epilogue);
    }

    /// <inheritdoc/>
    protected override void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        bool direct = IsPointwise(g);
        int chunk = direct ? g.N : SamplesPerChunk(colSample);
        ulong dy = Ptr(gradOutput), w = Ptr(weight), dx = Ptr(gradInput);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            ulong dyChunk = dy + (ulong)((long)n0 * g.K * plane) * 4;
            ulong dxChunk = dx + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong cols = direct ? dxChunk : WorkspaceFloats(ColumnsSlot, count * colSample);
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // dcols_g[n] (C/G*KH*KW x OH*OW) = W_g^T (C/G*KH*KW x K/G) * dY_g[n] (K/G x OH*OW).
                RowMajorGemmStridedBatched(true, false, rowsG, plane, kG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    dyChunk + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane,
                    0f, cols + (ulong)((long)grp * rowsG * plane) * 4, colSample, count);
            }
            if (!direct) LaunchCol2Im(cols, dxChunk, g, count);
        }
    }

    /// <inheritdoc/>
    protected override void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        // Per sample this pass holds C*KH*KW*OH*OW columns plus K*OH*OW of transposed dY.
        int chunk = SamplesPerChunk((long)(g.ColumnRows + g.K) * plane);
        ulong x = Ptr(input), dy = Ptr(gradOutput), dw = Ptr(gradWeight);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            long span = (long)count * plane;   // GEMM reduction length: every output pixel of the chunk
            ulong xChunk = x + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong dyChunk = dy + (ulong)((long)n0 * g.K * plane) * 4;
            // colsT (C*KH*KW, count*OH*OW): sample n's block starts at column n*OH*OW.
            ulong colsT = WorkspaceFloats(ColumnsSlot, g.ColumnRows * span);
            LaunchIm2Col(xChunk, colsT, g, count, plane, span);
            // dYT (K, count*OH*OW) from dY (count, K, OH*OW).
            ulong dyT = WorkspaceFloats(GradOutputSlot, g.K * span);
            var args = new KernelArgs();
            args.AddPointer(dyChunk); args.AddPointer(dyT); args.Add(g.K * span); args.Add(count); args.Add(g.K); args.Add((long)plane);
            args.Add(FastDivisor.Magic(plane)); args.Add(FastDivisor.Magic(count));
            LaunchElements(KernelNames.SwapOuter, g.K * span, args);
            // dW_g (K/G x C/G*KH*KW) (+)= dYT_g (K/G x span) * colsT_g^T (span x C/G*KH*KW), all groups in one call.
            float beta = accumulate || n0 > 0 ? 1f : 0f;
            RowMajorGemmStridedBatched(false, true, kG, rowsG, checked((int)span), 1f,
                dyT, kG * span, colsT, rowsG * span, beta, dw, (long)kG * rowsG, g.Groups);
        }
    }

    /// <inheritdoc/>
    protected override void BiasAddCore(Tensor output, Tensor bias) => LaunchBiasActivation(output, bias, Epilogue.None);

    /// <inheritdoc/>
    protected override void BiasGradientCore(Tensor gradOutput, Tensor gradBias, bool accumulate)
    {
        int n = gradOutput.Shape[0], c = gradOutput.Shape[1];
        LaunchChannelSum(Ptr(gradOutput), Ptr(gradBias), n, c, gradOutput.ElementCount / ((long)n * c), accumulate);
    }

    /// <summary>1x1 kernel, stride 1, no padding: the input (N, C, H*W) is already the im2col matrix.</summary>
    private static bool IsPointwise(Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0;

    /// <summary>Samples per workspace chunk when one sample needs <paramref name="floatsPerSample"/> floats.</summary>
    private int SamplesPerChunk(long floatsPerSample) =>
        (int)Math.Clamp(Options.MaxWorkspaceBytes / (floatsPerSample * 4), 1, int.MaxValue);

    /// <summary>im2col of <paramref name="samples"/> samples into columns addressed n*sampleStride + row*rowStride + p.</summary>
    private void LaunchIm2Col(ulong x, ulong cols, Conv2dGeometry g, int samples, long sampleStride, long rowStride)
    {
        long total = (long)samples * g.ColumnRows * g.OutputPlane;
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(cols); args.Add(total);
        AddConvGeometry(ref args, g);
        args.Add(sampleStride); args.Add(rowStride);
        args.Add(FastDivisor.Magic(g.OutputPlane)); args.Add(FastDivisor.Magic(g.ColumnRows)); args.Add(FastDivisor.Magic(g.OW));
        args.Add(FastDivisor.Magic(g.KH * g.KW)); args.Add(FastDivisor.Magic(g.KW));
        LaunchElements(KernelNames.Im2Col, total, args);
    }

    /// <summary>col2im (gather) of <paramref name="samples"/> samples from (samples, C*KH*KW, OH*OW) columns.</summary>
    private void LaunchCol2Im(ulong cols, ulong x, Conv2dGeometry g, int samples)
    {
        long total = (long)samples * g.C * g.InputPlane;
        var args = new KernelArgs();
        args.AddPointer(cols); args.AddPointer(x); args.Add(total);
        AddConvGeometry(ref args, g);
        args.Add(FastDivisor.Magic(g.InputPlane)); args.Add(FastDivisor.Magic(g.C)); args.Add(FastDivisor.Magic(g.W));
        args.Add(FastDivisor.Magic(g.SH)); args.Add(FastDivisor.Magic(g.SW));
        LaunchElements(KernelNames.Col2Im, total, args);
    }

    // C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW: the geometry parameters shared by cn_im2col and cn_col2im.
    private static void AddConvGeometry(ref KernelArgs args, Conv2dGeometry g)
    {
        args.Add(g.C); args.Add(g.H); args.Add(g.W); args.Add(g.KH); args.Add(g.KW); args.Add(g.SH); args.Add(g.SW);
        args.Add(g.PadTop); args.Add(g.PadLeft); args.Add(g.DH); args.Add(g.DW); args.Add(g.OH); args.Add(g.OW);
    }

    /// <summary>y[c] (+)= sum over n and i of x (N, C, inner): one block per channel, fixed-order tree.</summary>
    private void LaunchChannelSum(ulong x, ulong y, int n, int c, long inner, bool accumulate)
    {
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(y); args.Add(n); args.Add(c); args.Add(inner); args.Add(accumulate ? 1 : 0);
        LaunchItems(KernelNames.ChannelSum, c, args);
    }
}
