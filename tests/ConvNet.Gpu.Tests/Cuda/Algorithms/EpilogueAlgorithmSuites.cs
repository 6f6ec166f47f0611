using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Ops;

namespace ConvNet.Gpu.Tests.Cuda.Algorithms;

// The fused layer ops (Conv2dForward with an epilogue, Conv2dBackward) with each convolution algorithm forced: the
// forward epilogue is the implicit-GEMM and depthwise kernels' own or one pass after the GEMM-based algorithms; the
// backward is the transposed-dZ prologue feeding both im2col GEMMs when both passes use Im2ColGemm, else a prologue in
// dY's layout feeding each pass's algorithm. The suite's depthwise and 1x1 cases run the Depthwise and PointwiseGemm
// kernels; the others fall back to Im2ColGemm there.

/// <summary>Fused layer ops, Im2ColGemm forced (emulated).</summary>
public sealed class EpilogueOps_Im2ColGemm_Emulated() : EpilogueOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Im2ColGemm));

/// <summary>Fused layer ops, ImplicitGemmFp32 forced (emulated).</summary>
public sealed class EpilogueOps_ImplicitFp32_Emulated() : EpilogueOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Fused layer ops, ImplicitGemmFp32 forced, 2-block grids and 3-way split backward-weights (emulated).</summary>
public sealed class EpilogueOps_ImplicitFp32CappedSplit_Emulated()
    : EpilogueOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 80, ConvAlgorithmBackends.CappedSplit));

/// <summary>Fused layer ops, Depthwise forced (emulated).</summary>
public sealed class EpilogueOps_Depthwise_Emulated() : EpilogueOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Depthwise));

/// <summary>Fused layer ops, PointwiseGemm forced (emulated).</summary>
public sealed class EpilogueOps_PointwiseGemm_Emulated() : EpilogueOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.PointwiseGemm));
