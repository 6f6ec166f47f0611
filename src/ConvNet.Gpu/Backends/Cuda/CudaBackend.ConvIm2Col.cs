using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// ConvAlgorithm.Im2ColGemm, convolution as GEMM (Caffe base_conv_layer): im2col of a chunk of samples into a workspace,
// then per group ONE strided-batched SGEMM over the chunk; backward-data is the transposed GEMM followed by col2im (a
// gather); backward-weights lays columns out as (C*KH*KW, N*OH*OW) so each group's dW is a single GEMM that sums over
// the whole batch inside cuBLAS (deterministic, beta = 1 accumulates). The chunk is the whole batch unless the columns
// would exceed CudaBackendOptions.MaxWorkspaceBytes. Every geometry: the registry's fallback. The bias and activation of
// the forward are RunForward's pass after it; the fused layer backward with this algorithm is CudaBackend.Epilogue.cs.
public sealed partial class CudaBackend
{
    private void ForwardIm2Col(ulong x, ulong w, ulong y, Conv2dGeometry g)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        int chunk = SamplesPerChunk(colSample);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            ulong xChunk = x + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong yChunk = y + (ulong)((long)n0 * g.K * plane) * 4;
            // Columns (count, C*KH*KW, OH*OW).
            ulong cols = WorkspaceFloats(ColumnsSlot, count * colSample);
            LaunchIm2Col(xChunk, cols, g, count, colSample, plane);
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // Y_g[n] (K/G x OH*OW) = W_g (K/G x C/G*KH*KW) * cols_g[n] (C/G*KH*KW x OH*OW), for every n at once.
                RowMajorGemmStridedBatched(false, false, kG, plane, rowsG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    cols + (ulong)((long)grp * rowsG * plane) * 4, colSample,
                    0f, yChunk + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane, count);
            }
        }
    }

    private void BackwardDataIm2Col(ulong dy, ulong w, ulong dx, Conv2dGeometry g)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        int chunk = SamplesPerChunk(colSample);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            ulong dyChunk = dy + (ulong)((long)n0 * g.K * plane) * 4;
            ulong dxChunk = dx + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong cols = WorkspaceFloats(ColumnsSlot, count * colSample);
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // dcols_g[n] (C/G*KH*KW x OH*OW) = W_g^T (C/G*KH*KW x K/G) * dY_g[n] (K/G x OH*OW).
                RowMajorGemmStridedBatched(true, false, rowsG, plane, kG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    dyChunk + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane,
                    0f, cols + (ulong)((long)grp * rowsG * plane) * 4, colSample, count);
            }
            LaunchCol2Im(cols, dxChunk, g, count);
        }
    }

    private void BackwardWeightsIm2Col(ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        // Per sample this pass holds C*KH*KW*OH*OW columns plus K*OH*OW of transposed dY.
        int chunk = SamplesPerChunk((long)(g.ColumnRows + g.K) * plane);
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
            LaunchSwapOuter(dyChunk, dyT, count, g.K, plane);
            // dW_g (K/G x C/G*KH*KW) (+)= dYT_g (K/G x span) * colsT_g^T (span x C/G*KH*KW), all groups in one call.
            float beta = accumulate || n0 > 0 ? 1f : 0f;
            RowMajorGemmStridedBatched(false, true, kG, rowsG, checked((int)span), 1f,
                dyT, kG * span, colsT, rowsG * span, beta, dw, (long)kG * rowsG, g.Groups);
        }
    }

    /// <summary>t (b, a, inner) = the transpose of the outer two dimensions of s (a, b, inner).</summary>
    private void LaunchSwapOuter(ulong source, ulong target, int a, int b, long inner)
    {
        long total = (long)a * b * inner;
        LaunchElements(CudaKernels.SwapOuter(source, target, total, a, b, inner, FastDivisor.Magic(checked((int)inner)), FastDivisor.Magic(a)),
            total);
    }
}
