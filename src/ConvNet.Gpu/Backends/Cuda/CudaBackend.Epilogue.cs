using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Bias and activation fused around the GEMMs (kernels/epilogue.cu). Forward: GEMM, then one epilogue pass
// y = act(y + b). Backward: one prologue pass reads dL/dy (and y) once and writes dL/dz where the GEMMs want it, with the
// bias gradient summed on the way; for convolution that is the (K, N*OH*OW) layout both backward GEMMs read, so the
// separate transpose of Conv2dBackwardWeights does not run.
public sealed partial class CudaBackend
{
    private const int EpilogueSlot = 2; // dense dL/dz (N, units)

    /// <summary>The kernels' activation code: the ActivationKind value, or -1 (CN_ACT_NONE) for none.</summary>
    private static int ActivationCode(Epilogue e) => e.Activation is { } kind ? (int)kind : -1;

    /// <summary>y = act(y + bias[channel]) in place over y viewed as (N, C, rest); nothing when there is neither.</summary>
    private void LaunchBiasActivation(Tensor y, Tensor? bias, Epilogue epilogue)
    {
        if (bias is null && epilogue.Activation is null) return;
        int c = y.Shape[1];
        long total = y.ElementCount, inner = total / ((long)y.Shape[0] * c);
        var args = new KernelArgs();
        args.AddPointer(Ptr(y)); args.AddPointer(bias is null ? 0 : Ptr(bias)); args.Add(total); args.Add(c); args.Add(inner);
        args.Add(FastDivisor.Magic(checked((int)inner))); args.Add(FastDivisor.Magic(c));
        args.Add(ActivationCode(epilogue)); args.Add(epilogue.Alpha);
        LaunchElements(KernelNames.BiasActivationForward, total, args);
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
            var args = new KernelArgs();
            args.AddPointer(Ptr(gradOutput)); args.AddPointer(output is null || epilogue.Activation is null ? 0 : Ptr(output));
            args.AddPointer(dzOut); args.AddPointer(gradBias is null ? 0 : Ptr(gradBias));
            args.Add(n); args.Add(u); args.Add(ActivationCode(epilogue)); args.Add(epilogue.Alpha); args.Add(accumulate ? 1 : 0);
            LaunchElements(KernelNames.DenseBackwardPrologue, u, args);
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
        int plane = g.OutputPlane, rowsG = g.ColumnRowsPerGroup, kG = g.KPerGroup;
        long colSample = (long)g.ColumnRows * plane;
        // Per sample: C*KH*KW*OH*OW columns (reused for dcols) plus K*OH*OW of dZ transposed.
        int chunk = SamplesPerChunk((long)(g.ColumnRows + g.K) * plane);
        ulong x = Ptr(input), dy = Ptr(gradOutput), y = output is null ? 0 : Ptr(output), w = Ptr(weight), dw = Ptr(gradWeight);
        bool pointwise = IsPointwise(g);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            long span = (long)count * plane;
            ulong outOffset = (ulong)((long)n0 * g.K * plane) * 4;
            ulong xChunk = x + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            bool accumulateHere = accumulate || n0 > 0;

            // dZT (K, count*OH*OW) = act'(y) * dY, transposed, and the bias gradient, in one pass.
            ulong dzT = WorkspaceFloats(GradOutputSlot, g.K * span);
            var args = new KernelArgs();
            args.AddPointer(dy + outOffset); args.AddPointer(y == 0 || epilogue.Activation is null ? 0 : y + outOffset);
            args.AddPointer(dzT); args.AddPointer(gradBias is null ? 0 : Ptr(gradBias));
            args.Add(count); args.Add(g.K); args.Add((long)plane); args.Add(ActivationCode(epilogue)); args.Add(epilogue.Alpha);
            args.Add(accumulateHere ? 1 : 0);
            LaunchItems(KernelNames.ConvBackwardPrologue, g.K, args);

            // dW_g (K/G x C/G*KH*KW) (+)= dZT_g (K/G x span) * colsT_g^T (span x C/G*KH*KW), all groups in one call.
            ulong colsT = WorkspaceFloats(ColumnsSlot, g.ColumnRows * span);
            LaunchIm2Col(xChunk, colsT, g, count, plane, span);
            RowMajorGemmStridedBatched(false, true, kG, rowsG, checked((int)span), 1f,
                dzT, kG * span, colsT, rowsG * span, accumulateHere ? 1f : 0f, dw, (long)kG * rowsG, g.Groups);

            if (gradInput is null) continue;
            // dcols_g[n] (C/G*KH*KW x OH*OW) = W_g^T * dZT_g[:, n*OH*OW ...] (rows span apart); then col2im. A pointwise
            // convolution writes dX directly (its columns are the input).
            ulong dxChunk = Ptr(gradInput) + (ulong)((long)n0 * g.C * g.InputPlane) * 4;
            ulong dcols = pointwise ? dxChunk : colsT; // colsT is no longer needed: reuse its memory
            for (int grp = 0; grp < g.Groups; grp++)
            {
                RowMajorGemmStridedBatched(true, false, rowsG, plane, kG, 1f,
                    w + (ulong)((long)grp * kG * rowsG) * 4, 0,
                    dzT + (ulong)((long)grp * kG * span) * 4, plane,
                    0f, dcols + (ulong)((long)grp * rowsG * plane) * 4, colSample, count, ldb: checked((int)span));
            }
            if (!pointwise) LaunchCol2Im(dcols, dxChunk, g, count);
        }
    }
}
