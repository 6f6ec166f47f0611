using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Convolutions: each pass goes to the algorithm the registry picks for its geometry (CudaBackend.ConvAlgorithms.cs:
// forced, autotuned, or the fixed cost order), one of
//   Im2ColGemm        CudaBackend.ConvIm2Col.cs    im2col + cuBLAS (Caffe), col2im gather for backward-data
//   ImplicitGemm*     CudaBackend.ConvImplicit.cs  kernels/conv_igemm.cu, FP32 SIMT or TF32 mma.sync
//   Depthwise         CudaBackend.ConvDirect.cs    kernels/conv_depthwise.cu
//   PointwiseGemm     CudaBackend.ConvDirect.cs    1x1 stride-1 unpadded convolutions as GEMMs on the tensors
// This file holds the IBackend entry points, im2col/col2im as ops, the bias ops and the helpers they share. The bias and
// activation of a fused forward (Conv2dForward with an Epilogue) are the implicit-GEMM and depthwise kernels' own
// epilogue; after the GEMM-based algorithms they are one more pass (kernels/epilogue.cu). The fused layer backward is in
// CudaBackend.Epilogue.cs.
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
        Conv2dForwardCore(input, weight, bias, output, g, Epilogue.None);

    /// <inheritdoc/>
    protected override void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g, Epilogue epilogue) =>
        RunForward(ChooseConvAlgorithm(ConvPass.Forward, g).Algorithm, Ptr(input), Ptr(weight), bias is null ? 0 : Ptr(bias),
            Ptr(output), g, ActivationCode(epilogue), epilogue.Alpha);

    /// <inheritdoc/>
    protected override void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g) =>
        RunBackwardData(ChooseConvAlgorithm(ConvPass.BackwardData, g).Algorithm, Ptr(gradOutput), Ptr(weight), Ptr(gradInput), g);

    /// <inheritdoc/>
    protected override void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate) =>
        RunBackwardWeights(ChooseConvAlgorithm(ConvPass.BackwardWeights, g).Algorithm, Ptr(input), Ptr(gradOutput), Ptr(gradWeight),
            g, accumulate);

    /// <summary>y = act(conv(x, w) + bias) (bias 0 = none, act -1 = none) with <paramref name="algorithm"/>.</summary>
    private void RunForward(ConvAlgorithm algorithm, ulong x, ulong w, ulong bias, ulong y, Conv2dGeometry g, int act = -1, float alpha = 0f)
    {
        switch (algorithm)
        {
            case ConvAlgorithm.Im2ColGemm: ForwardIm2Col(x, w, y, g); break;
            case ConvAlgorithm.ImplicitGemmFp32: ForwardImplicit(x, w, bias, y, g, tf32: false, act, alpha); return;
            case ConvAlgorithm.ImplicitGemmTf32: ForwardImplicit(x, w, bias, y, g, tf32: true, act, alpha); return;
            case ConvAlgorithm.Depthwise: ForwardDepthwise(x, w, bias, y, g, act, alpha); return;
            case ConvAlgorithm.PointwiseGemm: ForwardPointwise(x, w, y, g); break;
            default: throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null);
        }
        // The GEMM-based algorithms have no epilogue of their own: bias and activation are one more (in-place) pass.
        LaunchBiasActivation(y, bias, g.N, g.K, g.OutputPlane, act, alpha);
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
        int n = output.Shape[0], c = output.Shape[1];
        LaunchBiasActivation(Ptr(output), Ptr(bias), n, c, output.ElementCount / ((long)n * c), -1, 0f);
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
        LaunchElements(CudaKernels.Im2Col(x, cols, total,
            g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadTop, g.PadLeft, g.DH, g.DW, g.OH, g.OW, sampleStride, rowStride,
            FastDivisor.Magic(g.OutputPlane), FastDivisor.Magic(g.ColumnRows), FastDivisor.Magic(g.OW), FastDivisor.Magic(g.KH * g.KW),
            FastDivisor.Magic(g.KW)), total);
    }

    /// <summary>col2im (gather) of <paramref name="samples"/> samples from (samples, C*KH*KW, OH*OW) columns.</summary>
    private void LaunchCol2Im(ulong cols, ulong x, Conv2dGeometry g, int samples)
    {
        long total = (long)samples * g.C * g.InputPlane;
        LaunchElements(CudaKernels.Col2Im(cols, x, total,
            g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PadTop, g.PadLeft, g.DH, g.DW, g.OH, g.OW,
            FastDivisor.Magic(g.InputPlane), FastDivisor.Magic(g.C), FastDivisor.Magic(g.W), FastDivisor.Magic(g.SH),
            FastDivisor.Magic(g.SW)), total);
    }

    /// <summary>y[c] (+)= sum over n and i of x (N, C, inner): one block per channel, fixed-order tree.</summary>
    private void LaunchChannelSum(ulong x, ulong y, int n, int c, long inner, bool accumulate)
    {
        LaunchItems(CudaKernels.ChannelSum(x, y, n, c, inner, accumulate ? 1 : 0), c);
    }
}
