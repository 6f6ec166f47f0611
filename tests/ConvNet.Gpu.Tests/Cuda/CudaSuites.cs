using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Examples;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Ops;

namespace ConvNet.Gpu.Tests.Cuda;

// Every shared op suite on the CUDA backend, twice: on the emulated device (the same kernel source compiled for the host,
// bounds-checked pointers, real __syncthreads barriers; runs in CI) and on a real GPU (skipped, with the reason, when
// none is usable). Each result is compared with the float64 reference and with CpuBackend on the same inputs at the
// CUDA-vs-CPU tolerances of testing.md; exact ops (im2col, single-contribution col2im, argmax, copies, dropout masks) bitwise.

/// <summary>Conv ops on CUDA (emulated) vs float64 and CPU.</summary>
public sealed class ConvOps_CudaEmulated() : ConvOpsSuite(CudaTestBackends.Emulated());

/// <summary>Pooling and upsampling on CUDA (emulated).</summary>
public sealed class PoolOps_CudaEmulated() : PoolOpsSuite(CudaTestBackends.Emulated());

/// <summary>Activations on CUDA (emulated).</summary>
public sealed class ActivationOps_CudaEmulated() : ActivationOpsSuite(CudaTestBackends.Emulated());

/// <summary>Softmax and losses on CUDA (emulated).</summary>
public sealed class SoftmaxLossOps_CudaEmulated() : SoftmaxLossOpsSuite(CudaTestBackends.Emulated());

/// <summary>Element-wise ops, reductions and dropout on CUDA (emulated).</summary>
public sealed class ElementwiseOps_CudaEmulated() : ElementwiseOpsSuite(CudaTestBackends.Emulated());

/// <summary>GEMM on CUDA (emulated): the operand swap onto column-major SGEMM.</summary>
public sealed class GemmOps_CudaEmulated() : GemmOpsSuite(CudaTestBackends.Emulated());

/// <summary>Batch normalization on CUDA (emulated).</summary>
public sealed class BatchNormOps_CudaEmulated() : BatchNormOpsSuite(CudaTestBackends.Emulated());

/// <summary>Optimizer steps on CUDA (emulated).</summary>
public sealed class OptimizerOps_CudaEmulated() : OptimizerOpsSuite(CudaTestBackends.Emulated());

/// <summary>Fused bias/activation layer ops on CUDA (emulated): the epilogue and backward-prologue kernels.</summary>
public sealed class EpilogueOps_CudaEmulated() : EpilogueOpsSuite(CudaTestBackends.Emulated());

/// <summary>
/// The same with im2col + GEMM forced and a 4 KiB convolution workspace, so the fused backward processes one sample per
/// chunk (the bias gradient then accumulates over chunks, and dZ is laid out per chunk).
/// </summary>
public sealed class EpilogueOps_CudaEmulated_Chunked() : EpilogueOpsSuite(CudaTestBackends.Emulated(CudaTestBackends.EmulatedOptions with
{
    MaxWorkspaceBytes = 4096, ForceConvAlgorithm = ConvAlgorithm.Im2ColGemm,
}));

/// <summary>The worked examples with exact numbers on CUDA (emulated).</summary>
public sealed class WorkedExamples_CudaEmulated() : WorkedExamplesSuite(CudaTestBackends.Emulated());

/// <summary>Bad-input rejection on CUDA (emulated): the same typed exceptions, before any launch, nothing written.</summary>
public sealed class BadInput_CudaEmulated() : BadInputSuite(CudaTestBackends.Emulated());

/// <summary>In-place calls on CUDA (emulated).</summary>
public sealed class AliasingOps_CudaEmulated() : AliasingOpsSuite(CudaTestBackends.Emulated());

/// <summary>Conv ops on a real GPU.</summary>
public sealed class ConvOps_CudaGpu() : ConvOpsSuite(CudaTestBackends.Gpu());

/// <summary>Pooling and upsampling on a real GPU.</summary>
public sealed class PoolOps_CudaGpu() : PoolOpsSuite(CudaTestBackends.Gpu());

/// <summary>Activations on a real GPU.</summary>
public sealed class ActivationOps_CudaGpu() : ActivationOpsSuite(CudaTestBackends.Gpu());

/// <summary>Softmax and losses on a real GPU.</summary>
public sealed class SoftmaxLossOps_CudaGpu() : SoftmaxLossOpsSuite(CudaTestBackends.Gpu());

/// <summary>Element-wise ops, reductions and dropout on a real GPU.</summary>
public sealed class ElementwiseOps_CudaGpu() : ElementwiseOpsSuite(CudaTestBackends.Gpu());

/// <summary>GEMM on a real GPU (cuBLAS, TF32 off).</summary>
public sealed class GemmOps_CudaGpu() : GemmOpsSuite(CudaTestBackends.Gpu());

/// <summary>Batch normalization on a real GPU.</summary>
public sealed class BatchNormOps_CudaGpu() : BatchNormOpsSuite(CudaTestBackends.Gpu());

/// <summary>Optimizer steps on a real GPU.</summary>
public sealed class OptimizerOps_CudaGpu() : OptimizerOpsSuite(CudaTestBackends.Gpu());

/// <summary>Fused bias/activation layer ops on a real GPU.</summary>
public sealed class EpilogueOps_CudaGpu() : EpilogueOpsSuite(CudaTestBackends.Gpu());

/// <summary>The worked examples on a real GPU.</summary>
public sealed class WorkedExamples_CudaGpu() : WorkedExamplesSuite(CudaTestBackends.Gpu());

/// <summary>Bad-input rejection on a real GPU.</summary>
public sealed class BadInput_CudaGpu() : BadInputSuite(CudaTestBackends.Gpu());

/// <summary>In-place calls on a real GPU: where a wrongly __restrict__-qualified kernel would read stale data.</summary>
public sealed class AliasingOps_CudaGpu() : AliasingOpsSuite(CudaTestBackends.Gpu());

/// <summary>Conv ops on a real GPU with TF32 allowed (cuBLAS tensor cores), at the TF32 tolerances.</summary>
public sealed class ConvOps_CudaGpuTf32() : ConvOpsSuite(CudaTestBackends.GpuTf32());

/// <summary>GEMM on a real GPU with TF32 allowed, at the TF32 tolerances.</summary>
public sealed class GemmOps_CudaGpuTf32() : GemmOpsSuite(CudaTestBackends.GpuTf32());
