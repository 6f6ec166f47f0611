using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Gradients;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Cuda.Algorithms;
using ConvNet.Gpu.Tests.Ops;

namespace ConvNet.Gpu.Tests.Cuda;

// Every convolution algorithm forced on a real GPU (skipped, with the reason, when there is none; run on the emulator
// through the stand-in driver by build/test-driver-path.sh): the conv op suite, random geometries, gradient checks and
// the benchmark shapes. The emulated-device classes are in Algorithms/.

/// <summary>Conv ops, Im2ColGemm forced (GPU).</summary>
public sealed class ConvOps_Im2ColGemm_Gpu() : ConvOpsSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.Im2ColGemm));

/// <summary>Conv ops, ImplicitGemmFp32 forced (GPU).</summary>
public sealed class ConvOps_ImplicitFp32_Gpu() : ConvOpsSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Conv ops, ImplicitGemmTf32 forced (GPU; below sm_80 it falls back to Im2ColGemm, as the selection tests pin).</summary>
public sealed class ConvOps_ImplicitTf32_Gpu() : ConvOpsSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Conv ops, Depthwise forced (GPU).</summary>
public sealed class ConvOps_Depthwise_Gpu() : ConvOpsSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.Depthwise));

/// <summary>Conv ops, PointwiseGemm forced (GPU).</summary>
public sealed class ConvOps_PointwiseGemm_Gpu() : ConvOpsSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.PointwiseGemm));

/// <summary>Random geometries, ImplicitGemmFp32 forced (GPU).</summary>
public sealed class ConvRandomGeometry_ImplicitFp32_Gpu() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Random geometries, ImplicitGemmTf32 forced (GPU).</summary>
public sealed class ConvRandomGeometry_ImplicitTf32_Gpu() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Random geometries, Depthwise forced (GPU).</summary>
public sealed class ConvRandomGeometry_Depthwise_Gpu() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.Depthwise));

/// <summary>Random geometries, the autotuned choices (GPU).</summary>
public sealed class ConvRandomGeometry_CudaGpu() : ConvRandomGeometrySuite(CudaTestBackends.Gpu());

/// <summary>Conv gradient check, ImplicitGemmTf32 forced (GPU).</summary>
public sealed class ConvGradients_ImplicitTf32_Gpu() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmTf32), tf32: true);

/// <summary>Conv gradient check, Depthwise forced (GPU).</summary>
public sealed class ConvGradients_Depthwise_Gpu() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.Depthwise));

/// <summary>Benchmark shapes, ImplicitGemmFp32 forced (GPU).</summary>
public sealed class ConvBenchmarkShapes_ImplicitFp32_Gpu() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Benchmark shapes, ImplicitGemmTf32 forced (GPU).</summary>
public sealed class ConvBenchmarkShapes_ImplicitTf32_Gpu() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Gpu(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Benchmark shapes, the autotuned choices (GPU).</summary>
public sealed class ConvBenchmarkShapes_CudaGpu() : ConvBenchmarkShapesSuite(CudaTestBackends.Gpu());
