namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// The ways <see cref="CudaBackend"/> can carry out a convolution pass (the candidates of its algorithm registry).
/// Every one is deterministic: two runs on the same device give the same bits.
/// </summary>
public enum ConvAlgorithm
{
    /// <summary>im2col into a workspace, then cuBLAS SGEMM per group (Caffe); col2im (a gather) for backward-data.
    /// Handles every geometry: the fallback when no other candidate applies.</summary>
    Im2ColGemm,

    /// <summary>Implicit GEMM in FP32 on the CUDA cores (kernels/conv_igemm.cu): input tiles are gathered straight into
    /// shared memory, no column buffer; cp.async double buffering on sm_80+, plain loads below. Every geometry.</summary>
    ImplicitGemmFp32,

    /// <summary>Implicit GEMM on the tensor cores: mma.sync m16n8k8 on TF32-rounded inputs, FP32 accumulation. Needs an
    /// sm_80+ device and TF32 allowed (<see cref="CudaBackendOptions.AllowTf32"/>), like cuBLAS's TF32 mode.</summary>
    ImplicitGemmTf32,

    /// <summary>Direct depthwise kernels (groups == C, K a multiple of C): one thread per output element forward and
    /// backward-data, a fixed-order block reduction per filter tap for backward-weights.</summary>
    Depthwise,

    /// <summary>A 1x1 convolution with stride 1 and no padding as plain GEMMs on the tensors themselves (no im2col in any
    /// pass; backward-weights transposes dY and x into a workspace first).</summary>
    PointwiseGemm,
}

/// <summary>A convolution pass, as the algorithm registry distinguishes them.</summary>
public enum ConvPass
{
    /// <summary>y = conv(x, w) (+ bias).</summary>
    Forward,

    /// <summary>dx from dy and w.</summary>
    BackwardData,

    /// <summary>dw from x and dy.</summary>
    BackwardWeights,
}

/// <summary>How <see cref="CudaBackend"/> picks a convolution algorithm when none is forced.</summary>
public enum ConvAutotune
{
    /// <summary>
    /// On a GPU: time every eligible candidate with CUDA events on the first use of a geometry and keep the fastest
    /// (cached in memory and in a JSON file). On the emulated device, where host timings mean nothing for a GPU: the
    /// fixed cost order (<see cref="Off"/>).
    /// </summary>
    On,

    /// <summary>The first eligible candidate in the fixed cost order: Depthwise, PointwiseGemm, ImplicitGemmTf32,
    /// ImplicitGemmFp32, Im2ColGemm.</summary>
    Off,
}
