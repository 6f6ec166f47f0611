using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Convolutions: each pass goes to the algorithm the registry picks for its geometry (CudaBackend.ConvAlgorithms.cs:
// forced, autotuned, or the fixed cost order), one of
//   Im2ColGemm        CudaBackend.ConvIm2Col.cs    im2col + cuBLAS (Caffe), col2im gather for backward-data
//   ImplicitGemm*     CudaBackend.ConvImplicit.cs  kernels/conv_igemm.cu, FP32 SIMT or TF32 mma.sync
//   Depthwise         CudaBackend.ConvDirect.cs    kernels/conv_depthwise.cu
//   PointwiseGemm     CudaBackend.ConvDirect.cs    1x1 stride-1 unpadded convolutions as GEMMs on the tensors
// This file holds the IBackend entry points, im2col/col2im as ops, the bias ops and the helpers they share.
public sealed partial class CudaBackend
{
    private const int ColumnsSlot = 0;   // im2col columns
    private const int GradOutputSlot = 1; // dY transposed to (K, N*OH*OW) for backward-weights
    private const int PartialSlot = 2;   // split backward-weights partial tiles; pointwise x transposed

    /// <inheritdoc/>
    protected override void Im2ColCore(Tensor input, Tensor columns, Conv2dGeometry g) =>
        LaunchIm2Col(Ptr(input), Ptr(columns), g, g.N, (long)g.ColumnRows * g.OutputPlane, g.OutputPlane);

    /// <inheritdoc/>
    protected override void Col2ImCore(Tensor columns, Tensor input, Conv2dGeometry g) =>
        LaunchCol2Im(Ptr(columns), Ptr(input), g, g.N);

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g) =>
        RunForward(ChooseConvAlgorithm(ConvPass.Forward, g).Algorithm, Ptr(input), Ptr(weight), bias is null ? 0 : Ptr(bias),
            Ptr(output), g);

    /// <inheritdoc/>
    protected override void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g) =>
        RunBackwardData(ChooseConvAlgorithm(ConvPass.BackwardData, g).Algorithm, Ptr(gradOutput), Ptr(weight), Ptr(gradInput), g);

    /// <inheritdoc/>
    protected override void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate) =>
        RunBackwardWeights(ChooseConvAlgorithm(ConvPass.BackwardWeights, g).Algorithm, Ptr(input), Ptr(gradOutput), Ptr(gradWeight),
            g, accumulate);

    /// <summary>
    /// y = activation(conv(x, w) + bias): the core of the fused bias + activation forward (the public, validated entry
    /// point belongs to the fused-epilogue API). The implicit-GEMM and depthwise kernels apply the bias and the activation
    /// in their epilogue, so the whole op is one launch; Im2ColGemm and PointwiseGemm add a bias pass and an in-place
    /// activation pass. Null <paramref name="activation"/> means none; <paramref name="alpha"/> as in ActivationForward.
    /// </summary>
    internal void Conv2dForwardFusedCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g,
        ActivationKind? activation, float alpha)
    {
        ThrowIfDisposed();
        RunForward(ChooseConvAlgorithm(ConvPass.Forward, g).Algorithm, Ptr(input), Ptr(weight), bias is null ? 0 : Ptr(bias),
            Ptr(output), g, activation is { } a ? (int)a : -1, alpha);
    }

    /// <summary>y = act(conv(x, w) + bias) (bias 0 = none, act -1 = none) with <paramref name="algorithm"/>.</summary>
    private void RunForward(ConvAlgorithm algorithm, ulong x, ulong w, ulong bias, ulong y, Conv2dGeometry g, int act = -1, float alpha = 0f)
    {
        switch (algorithm)
        {
            case ConvAlgorithm.Im2ColGemm: ForwardIm2Col(x, w, bias, y, g); break;
            case ConvAlgorithm.ImplicitGemmFp32: ForwardImplicit(x, w, bias, y, g, tf32: false, act, alpha); return;
            case ConvAlgorithm.ImplicitGemmTf32: ForwardImplicit(x, w, bias, y, g, tf32: true, act, alpha); return;
            case ConvAlgorithm.Depthwise: ForwardDepthwise(x, w, bias, y, g, act, alpha); return;
            case ConvAlgorithm.PointwiseGemm: ForwardPointwise(x, w, bias, y, g); break;
            default: throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null);
        }
        // The GEMM-based algorithms have no epilogue of their own: the activation is one more (in-place) pass.
        if (act >= 0) LaunchActivationForward(y, y, (long)g.N * g.K * g.OutputPlane, (ActivationKind)act, alpha);
    }

    /// <summary>dx = the gradient of the forward's input for dy, with <paramref name="algorithm"/> (overwrites dx).</summary>
    private void RunBackwardData(ConvAlgorithm algorithm, ulong dy, ulong w, ulong dx, Conv2dGeometry g)
    {
        switch (algorithm)
        {
            case ConvAlgorithm.Im2ColGemm: BackwardDataIm2Col(dy, w, dx, g); break;
            case ConvAlgorithm.ImplicitGemmFp32: BackwardDataImplicit(dy, w, dx, g, tf32: false); break;
            case ConvAlgorithm.ImplicitGemmTf32: BackwardDataImplicit(dy, w, dx, g, tf32: true); break;
            case ConvAlgorithm.Depthwise: BackwardDataDepthwise(dy, w, dx, g); break;
            case ConvAlgorithm.PointwiseGemm: BackwardDataPointwise(dy, w, dx, g); break;
            default: throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null);
        }
    }

    /// <summary>dw (+)= the gradient of the forward's weights, with <paramref name="algorithm"/>.</summary>
    private void RunBackwardWeights(ConvAlgorithm algorithm, ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate)
    {
        switch (algorithm)
        {
            case ConvAlgorithm.Im2ColGemm: BackwardWeightsIm2Col(x, dy, dw, g, accumulate); break;
            case ConvAlgorithm.ImplicitGemmFp32: BackwardWeightsImplicit(x, dy, dw, g, accumulate, tf32: false); break;
            case ConvAlgorithm.ImplicitGemmTf32: BackwardWeightsImplicit(x, dy, dw, g, accumulate, tf32: true); break;
            case ConvAlgorithm.Depthwise: BackwardWeightsDepthwise(x, dy, dw, g, accumulate); break;
            case ConvAlgorithm.PointwiseGemm: BackwardWeightsPointwise(x, dy, dw, g, accumulate); break;
            default: throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null);
        }
    }

    /// <inheritdoc/>
    protected override void BiasAddCore(Tensor output, Tensor bias)
    {
        int c = output.Shape[1];
        LaunchBiasAdd(Ptr(output), Ptr(bias), output.ElementCount, c, output.ElementCount / ((long)output.Shape[0] * c));
    }

    /// <summary>y (n, c, inner) += bias[c] in place.</summary>
    private void LaunchBiasAdd(ulong y, ulong bias, long elements, int c, long inner)
    {
        var args = new KernelArgs();
        args.AddPointer(y); args.AddPointer(bias); args.Add(elements); args.Add(c); args.Add(inner);
        LaunchElements(KernelNames.BiasAdd, elements, args);
    }

    /// <inheritdoc/>
    protected override void BiasGradientCore(Tensor gradOutput, Tensor gradBias, bool accumulate)
    {
        int n = gradOutput.Shape[0], c = gradOutput.Shape[1];
        LaunchChannelSum(Ptr(gradOutput), Ptr(gradBias), n, c, gradOutput.ElementCount / ((long)n * c), accumulate);
    }

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
        LaunchElements(KernelNames.Im2Col, total, args);
    }

    /// <summary>col2im (gather) of <paramref name="samples"/> samples from (samples, C*KH*KW, OH*OW) columns.</summary>
    private void LaunchCol2Im(ulong cols, ulong x, Conv2dGeometry g, int samples)
    {
        long total = (long)samples * g.C * g.InputPlane;
        var args = new KernelArgs();
        args.AddPointer(cols); args.AddPointer(x); args.Add(total);
        AddConvGeometry(ref args, g);
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
