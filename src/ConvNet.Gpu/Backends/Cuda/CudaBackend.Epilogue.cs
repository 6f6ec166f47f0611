using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Bias and activation fused around the GEMMs (kernels/epilogue.cu). Forward: GEMM, then one epilogue pass
// y = act(y + b) (the convolution kernels with an epilogue of their own apply it themselves: CudaBackend.Conv.cs).
// Backward: one prologue pass reads dL/dy (and y) once and writes dL/dz where the next passes want it, with the bias
// gradient summed on the way; when both convolution passes use im2col + GEMM that is the (K, N*OH*OW) layout both
// backward GEMMs read, so the separate transpose of Conv2dBackwardWeights does not run.
public sealed partial class CudaBackend
{
    private const int EpilogueSlot = 3; // dL/dz before the GEMMs: dense (N, units), convolution (N, K, OH*OW) off the im2col path

    /// <summary>The kernels' activation code: the ActivationKind value, or -1 (CN_ACT_NONE) for none.</summary>
    private static int ActivationCode(Epilogue e) => e.Activation is { } kind ? (int)kind : -1;

    /// <summary>y = act(y + bias[channel]) in place over y viewed as (N, C, rest); nothing when there is neither.</summary>
    private void LaunchBiasActivation(Tensor y, Tensor? bias, Epilogue epilogue)
    {
        int n = y.Shape[0], c = y.Shape[1];
        LaunchBiasActivation(Ptr(y), bias is null ? 0 : Ptr(bias), n, c, y.ElementCount / ((long)n * c), ActivationCode(epilogue), epilogue.Alpha);
    }

    /// <summary>y (n, c, inner) = act(y + bias[c]) in place (bias 0 = none, act -1 = none); nothing when there is neither.</summary>
    private void LaunchBiasActivation(ulong y, ulong bias, int n, int c, long inner, int act, float alpha)
    {
        if (bias == 0 && act < 0) return;
        long total = (long)n * c * inner;
        LaunchElements(CudaKernels.BiasActivationForward(y, bias, total, c, inner, FastDivisor.Magic(checked((int)inner)), FastDivisor.Magic(c),
            act, alpha), total);
    }

    /// <inheritdoc/>
    protected override void LinearForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Epilogue epilogue)
    {
        int n = input.Shape[0], u = weight.Shape[0], f = weight.Shape[1];
        RowMajorGemm(false, true, n, u, f, 1f, Ptr(input), Ptr(weight), 0f, Ptr(output));
        LaunchBiasActivation(output, bias, epilogue);
    }

    /// <inheritdoc/>
    protected override void LinearBackwardCore(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue,
        Tensor gradWeight, Tensor? gradBias, Tensor? gradInput, bool accumulate)
    {
        int n = input.Shape[0], u = weight.Shape[0], f = weight.Shape[1];
        ulong dz = Ptr(gradOutput);
        if (epilogue.Activation is not null || gradBias is not null)
        {
            // One pass over (N, U): dz = act'(y) * dy (written only with an activation) and the bias gradient.
            ulong dzOut = epilogue.Activation is null ? 0 : WorkspaceFloats(EpilogueSlot, (long)n * u);
            LaunchElements(CudaKernels.DenseBackwardPrologue(Ptr(gradOutput), output is null || epilogue.Activation is null ? 0 : Ptr(output),
                dzOut, gradBias is null ? 0 : Ptr(gradBias), n, u, ActivationCode(epilogue), epilogue.Alpha, accumulate ? 1 : 0), u);
            if (dzOut != 0) dz = dzOut;
        }
        // dW (U x F) (+)= dZᵀ (U x N) * x (N x F); dx (N x F) = dZ (N x U) * W (U x F).
        RowMajorGemm(true, false, u, f, n, 1f, dz, Ptr(input), accumulate ? 1f : 0f, Ptr(gradWeight));
        if (gradInput is not null) RowMajorGemm(false, false, n, f, u, 1f, dz, Ptr(weight), 0f, Ptr(gradInput));
    }

    /// <inheritdoc/>
    protected override void Conv2dBackwardCore(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue,
        Tensor gradWeight, Tensor? gradBias, Tensor? gradInput, Conv2dGeometry g, bool accumulate)
    {
        var weights = ChooseConvAlgorithm(ConvPass.BackwardWeights, g).Algorithm;
        var data = gradInput is null ? weights : ChooseConvAlgorithm(ConvPass.BackwardData, g).Algorithm;
        ulong y = output is null || epilogue.Activation is null ? 0 : Ptr(output);
        if (weights == ConvAlgorithm.Im2ColGemm && data == ConvAlgorithm.Im2ColGemm)
        {
            Conv2dBackwardIm2Col(Ptr(input), Ptr(weight), y, Ptr(gradOutput), epilogue, Ptr(gradWeight), gradBias is null ? 0 : Ptr(gradBias),
                gradInput is null ? 0 : Ptr(gradInput), g, accumulate);
            return;
        }
        // The other algorithms read dL/dz in dL/dy's layout: one prologue pass writes it (only with an activation; without
        // one dz is dy itself) and sums the bias gradient on the way, then each pass runs its chosen algorithm on dz.
        ulong dy = Ptr(gradOutput), dz = dy;
        if (epilogue.Activation is not null || gradBias is not null)
        {
            ulong dzOut = epilogue.Activation is null ? 0 : WorkspaceFloats(EpilogueSlot, gradOutput.ElementCount);
            LaunchConvBackwardPrologue(dy, y, dzOut, gradBias is null ? 0 : Ptr(gradBias), g.N, g.K, g.OutputPlane, epilogue, accumulate, natural: true);
            if (dzOut != 0) dz = dzOut;
        }
        RunBackwardWeights(weights, Ptr(input), dz, Ptr(gradWeight), g, accumulate);
        if (gradInput is not null) RunBackwardData(data, dz, Ptr(weight), Ptr(gradInput), g);
    }

    /// <summary>dz = act'(y) * dy (y 0: none) into dz (0: not written), transposed to (K, N*P) unless natural, and dbias (+)= its sums.</summary>
    private void LaunchConvBackwardPrologue(ulong dy, ulong y, ulong dz, ulong dbias, int n, int k, long plane, Epilogue epilogue, bool accumulate,
        bool natural)
    {
        LaunchItems(CudaKernels.ConvBackwardPrologue(dy, y, dz, dbias, n, k, plane, y == 0 ? -1 : ActivationCode(epilogue), epilogue.Alpha,
            accumulate ? 1 : 0, natural ? 1 : 0), k);
    }

    // Both backward passes with Im2ColGemm: the prologue writes dZ transposed to (K, N*OH*OW), the layout both GEMMs read,
    // so the transpose of Conv2dBackwardWeights does not run. Chunked like the separate passes.
    private void Conv2dBackwardIm2Col(ulong x, ulong w, ulong y, ulong dy, Epilogue epilogue, ulong dw, ulong dbias, ulong dx,
        Conv2dGeometry g, bool accumulate)
    {
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        // Per sample: C*KH*KW*OH*OW columns (reused for dcols) plus K*OH*OW of dZ transposed.
        int chunk = SamplesPerChunk((long)(g.ColumnRows + g.K) * plane);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            long span = (long)count * plane;
            ulong outOffset = (ulong)((long)n0 * g.K * plane) * 4;
            ulong xChunk = x + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            bool accumulateHere = accumulate || n0 > 0;

            // dZT (K, count*OH*OW) = act'(y) * dY, transposed, and the bias gradient, in one pass.
            ulong dzT = WorkspaceFloats(GradOutputSlot, g.K * span);
            LaunchConvBackwardPrologue(dy + outOffset, y == 0 ? 0 : y + outOffset, dzT, dbias, count, g.K, plane, epilogue, accumulateHere,
                natural: false);

            // dW_g (K/G x C/G*KH*KW) (+)= dZT_g (K/G x span) * colsT_g^T (span x C/G*KH*KW), all groups in one call.
            ulong colsT = WorkspaceFloats(ColumnsSlot, g.ColumnRows * span);
            LaunchIm2Col(xChunk, colsT, g, count, plane, span);
            RowMajorGemmStridedBatched(false, true, kG, rowsG, checked((int)span), 1f,
                dzT, kG * span, colsT, rowsG * span, accumulateHere ? 1f : 0f, dw, (long)kG * rowsG, g.Groups);

            if (dx == 0) continue;
            // dcols_g[n] (C/G*KH*KW x OH*OW) = W_g^T * dZT_g[:, n*OH*OW ...] (rows span apart), into colsT's memory (no
            // longer needed); then col2im.
            ulong dxChunk = dx + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            for (int grp = 0; grp < g.Groups; grp++)
            {
                RowMajorGemmStridedBatched(true, false, rowsG, plane, kG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    dzT + (ulong)((long)grp * kG * span) * 4, plane,
                    0f, colsT + (ulong)((long)grp * rowsG * plane) * 4, colSample, count, ldb: checked((int)span));
            }
            LaunchCol2Im(colsT, dxChunk, g, count);
        }
    }
}
