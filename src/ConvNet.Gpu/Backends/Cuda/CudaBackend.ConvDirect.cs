using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// ConvAlgorithm.Depthwise (kernels/conv_depthwise.cu) and ConvAlgorithm.PointwiseGemm (1x1, stride 1, unpadded:
// the tensors themselves are the GEMM operands, so no pass writes a column matrix).
public sealed partial class CudaBackend
{
    private const int DepthwiseReduceThreads = 256; // cn_dw_wgrad's warp-shuffle reduction needs whole warps

    private void ForwardDepthwise(ulong x, ulong w, ulong bias, ulong y, Conv2dGeometry g, int act, float alpha)
    {
        long total = (long)g.N * g.K * g.OutputPlane;
        // The epilogue: act(sum + bias), act -1 = none.
        LaunchElements(CudaKernels.DepthwiseForward(x, w, bias, y, total, DepthwiseGeometry(g), act, alpha), total);
    }

    private void BackwardDataDepthwise(ulong dy, ulong w, ulong dx, Conv2dGeometry g)
    {
        long total = (long)g.N * g.C * g.InputPlane;
        LaunchElements(CudaKernels.DepthwiseBackwardData(dy, w, dx, total, DepthwiseGeometry(g)), total);
    }

    private void BackwardWeightsDepthwise(ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate)
    {
        long taps = (long)g.K * g.KH * g.KW;
        long blocks = Options.MaxGridBlocks > 0 ? Math.Min(taps, Options.MaxGridBlocks) : Math.Min(taps, int.MaxValue);
        Launch(CudaKernels.DepthwiseBackwardWeights(x, dy, dw, DepthwiseGeometry(g), accumulate ? 1 : 0), (int)blocks, DepthwiseReduceThreads);
    }

    /// <summary>The geometry parameters of the conv_depthwise.cu kernels (CN_DW_PARAMS).</summary>
    private static CudaKernels.DepthwiseParams DepthwiseGeometry(Conv2dGeometry g) =>
        new(g.N, g.C, g.H, g.W, g.K, g.KH, g.KW, g.SH, g.SW, g.PadTop, g.PadLeft, g.DH, g.DW, g.OH, g.OW);

    // Pointwise: per group g and sample n, Y_g[n] (K/G x HW) = W_g (K/G x C/G) X_g[n] (C/G x HW): one strided-batched
    // GEMM per group over the batch, as the im2col path does but on x itself.
    private void ForwardPointwise(ulong x, ulong w, ulong y, Conv2dGeometry g)
    {
        int plane = g.InputPlane, cG = g.CPerGroup, kG = g.KPerGroup;
        for (int grp = 0; grp < g.Groups; grp++)
            RowMajorGemmStridedBatched(false, false, kG, plane, cG, 1f, w + (ulong)((long)grp * kG * cG) * 4, 0,
                x + (ulong)((long)grp * cG * plane) * 4, (long)g.C * plane,
                0f, y + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane, g.N);
    }

    // dX_g[n] (C/G x HW) = W_g^T (C/G x K/G) dY_g[n] (K/G x HW).
    private void BackwardDataPointwise(ulong dy, ulong w, ulong dx, Conv2dGeometry g)
    {
        int plane = g.InputPlane, cG = g.CPerGroup, kG = g.KPerGroup;
        for (int grp = 0; grp < g.Groups; grp++)
            RowMajorGemmStridedBatched(true, false, cG, plane, kG, 1f, w + (ulong)((long)grp * kG * cG) * 4, 0,
                dy + (ulong)((long)grp * kG * plane) * 4, (long)g.K * plane,
                0f, dx + (ulong)((long)grp * cG * plane) * 4, (long)g.C * plane, g.N);
    }

    // dW_g (K/G x C/G) (+)= dY_g (K/G x N*HW) X_g^T (N*HW x C/G): with one sample the tensors are already laid out so;
    // with more, dY and x are first transposed to (K, N*HW) and (C, N*HW) (a copy each; no im2col), then one GEMM
    // summing over the whole batch serves every group.
    private void BackwardWeightsPointwise(ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate)
    {
        int plane = g.InputPlane, cG = g.CPerGroup, kG = g.KPerGroup;
        long span = (long)g.N * plane;
        ulong dyT = dy, xT = x;
        if (g.N > 1)
        {
            dyT = WorkspaceFloats(GradOutputSlot, g.K * span);
            LaunchSwapOuter(dy, dyT, g.N, g.K, plane);
            xT = WorkspaceFloats(PartialSlot, g.C * span);
            LaunchSwapOuter(x, xT, g.N, g.C, plane);
        }
        RowMajorGemmStridedBatched(false, true, kG, cG, checked((int)span), 1f, dyT, kG * span, xT, cG * span,
            accumulate ? 1f : 0f, dw, (long)kG * cG, g.Groups);
    }
}
