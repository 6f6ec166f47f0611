using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Gradients;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Ops;

namespace ConvNet.Gpu.Tests.Cuda.Algorithms;

// Every convolution algorithm forced, one by one, through the whole conv op suite (the test table, NaN-poisoned outputs,
// float64 reference and CPU comparison, batch-slice views, determinism), random geometries, the conv gradient check and
// the benchmark shapes, on the emulated device (CI; the GPU classes are in ../ConvAlgorithmGpuSuites.cs). This namespace
// is left out of build/test-driver-path.sh's run, which covers the driver path with the GPU classes. Where a forced
// algorithm cannot run a case (Depthwise and PointwiseGemm on most of the table), the backend falls back to Im2ColGemm;
// ConvAlgorithmSelectionTests pins which case runs what. TF32 is judged at TF32 tolerances grown with the reduction
// length (Tolerance.CudaVsCpuTf32ForReduction).

/// <summary>Backends with one convolution algorithm forced.</summary>
internal static class ConvAlgorithmBackends
{
    /// <summary>The emulated backend with <paramref name="algorithm"/> forced (TF32 allowed exactly when it is the TF32 algorithm).</summary>
    public static BackendUnderTest Emulated(ConvAlgorithm algorithm, int computeCapability = 80, CudaBackendOptions? options = null)
    {
        bool tf32 = algorithm == ConvAlgorithm.ImplicitGemmTf32;
        var o = (options ?? CudaTestBackends.EmulatedOptions) with { ForceConvAlgorithm = algorithm, AllowTf32 = tf32 };
        return TestBackends.ForCuda(CudaTestBackends.CreateEmulated(o, computeCapability), Backend.Cpu(TestBackends.CpuThreads), tf32,
            tf32 ? LongestReduction : null);
    }

    /// <summary>A GPU backend with <paramref name="algorithm"/> forced.</summary>
    public static BackendUnderTest Gpu(ConvAlgorithm algorithm)
    {
        bool tf32 = algorithm == ConvAlgorithm.ImplicitGemmTf32;
        var o = CudaTestBackends.GpuOptions with { ForceConvAlgorithm = algorithm, AllowTf32 = tf32 };
        return TestBackends.ForCuda(CudaTestBackends.CreateGpu(o), Backend.Cpu(TestBackends.CpuThreads), tf32,
            tf32 ? LongestReduction : null);
    }

    /// <summary>The longest sum of products of the conv table and the random draws (TF32 tolerances grow with it).</summary>
    private static long LongestReduction =>
        new[] { ConvCases.LongestReduction, ConvRandomGeometrySuite.LongestReduction, ConvBenchmarkShapesSuite.LongestReduction }.Max();

    /// <summary>Small launch geometry for the tile kernels: grids capped at 2 blocks, so blocks walk several column tiles,
    /// and backward-weights split 3 ways, so the partial sums are reduced.</summary>
    public static readonly CudaBackendOptions CappedSplit = CudaTestBackends.EmulatedOptions with { MaxGridBlocks = 2, WgradSplits = 3, BlockSize = 96 };
}

/// <summary>Conv ops, Im2ColGemm forced (emulated).</summary>
public sealed class ConvOps_Im2ColGemm_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Im2ColGemm));

/// <summary>Conv ops, ImplicitGemmFp32 forced on an sm_80 device: the cp.async kernels (emulated).</summary>
public sealed class ConvOps_ImplicitFp32_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Conv ops, ImplicitGemmFp32 forced on an sm_70 device: the plain-load kernels (emulated).</summary>
public sealed class ConvOps_ImplicitFp32Sm70_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 70));

/// <summary>Conv ops, ImplicitGemmFp32 forced, 2-block grids and 3-way split backward-weights (emulated).</summary>
public sealed class ConvOps_ImplicitFp32CappedSplit_Emulated()
    : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 80, ConvAlgorithmBackends.CappedSplit));

/// <summary>Conv ops, ImplicitGemmTf32 forced (mma.sync, emulated), TF32 tolerances.</summary>
public sealed class ConvOps_ImplicitTf32_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Conv ops, ImplicitGemmTf32 forced, 2-block grids and 3-way split backward-weights (emulated).</summary>
public sealed class ConvOps_ImplicitTf32CappedSplit_Emulated()
    : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmTf32, 80, ConvAlgorithmBackends.CappedSplit));

/// <summary>Conv ops, Depthwise forced (emulated; non-depthwise cases fall back to Im2ColGemm).</summary>
public sealed class ConvOps_Depthwise_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Depthwise));

/// <summary>Conv ops, Depthwise forced, 2-block grids and block size 96 for the element-wise kernels (emulated).</summary>
public sealed class ConvOps_DepthwiseCapped_Emulated()
    : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Depthwise, 80, ConvAlgorithmBackends.CappedSplit));

/// <summary>Conv ops, PointwiseGemm forced (emulated; cases that are not 1x1/stride 1/unpadded fall back to Im2ColGemm).</summary>
public sealed class ConvOps_PointwiseGemm_Emulated() : ConvOpsSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.PointwiseGemm));

// Random geometries, every algorithm forced, and the default choice.

/// <summary>Random geometries, the fixed cost order's choices (emulated).</summary>
public sealed class ConvRandomGeometry_CudaEmulated() : ConvRandomGeometrySuite(CudaTestBackends.Emulated());

/// <summary>Random geometries, Im2ColGemm forced (emulated).</summary>
public sealed class ConvRandomGeometry_Im2ColGemm_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Im2ColGemm));

/// <summary>Random geometries, ImplicitGemmFp32 forced, cp.async kernels (emulated).</summary>
public sealed class ConvRandomGeometry_ImplicitFp32_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Random geometries, ImplicitGemmFp32 forced, plain-load kernels of sm_70 (emulated).</summary>
public sealed class ConvRandomGeometry_ImplicitFp32Sm70_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 70));

/// <summary>Random geometries, ImplicitGemmTf32 forced (emulated).</summary>
public sealed class ConvRandomGeometry_ImplicitTf32_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Random geometries, Depthwise forced (emulated).</summary>
public sealed class ConvRandomGeometry_Depthwise_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Depthwise));

/// <summary>Random geometries, PointwiseGemm forced (emulated).</summary>
public sealed class ConvRandomGeometry_PointwiseGemm_Emulated() : ConvRandomGeometrySuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.PointwiseGemm));

// The conv gradient check per forced algorithm (the default choice is checked by GradientChecks_CudaEmulated).

/// <summary>Conv gradient check, Im2ColGemm forced (emulated).</summary>
public sealed class ConvGradients_Im2ColGemm_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Im2ColGemm));

/// <summary>Conv gradient check, ImplicitGemmFp32 forced, cp.async kernels (emulated).</summary>
public sealed class ConvGradients_ImplicitFp32_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Conv gradient check, ImplicitGemmFp32 forced, plain-load kernels of sm_70 (emulated).</summary>
public sealed class ConvGradients_ImplicitFp32Sm70_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 70));

/// <summary>Conv gradient check, ImplicitGemmTf32 forced (emulated; numeric side on the CPU, threshold 1e-2).</summary>
public sealed class ConvGradients_ImplicitTf32_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmTf32), tf32: true);

/// <summary>Conv gradient check, Depthwise forced (emulated).</summary>
public sealed class ConvGradients_Depthwise_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Depthwise));

/// <summary>Conv gradient check, PointwiseGemm forced (emulated).</summary>
public sealed class ConvGradients_PointwiseGemm_Emulated() : ConvAlgorithmGradientSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.PointwiseGemm));

// The benchmark shape table (batch 1), every algorithm forced and the default choice.

/// <summary>Benchmark shapes, the fixed cost order's choices (emulated).</summary>
public sealed class ConvBenchmarkShapes_CudaEmulated() : ConvBenchmarkShapesSuite(CudaTestBackends.Emulated());

/// <summary>Benchmark shapes, Im2ColGemm forced (emulated).</summary>
public sealed class ConvBenchmarkShapes_Im2ColGemm_Emulated() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.Im2ColGemm));

/// <summary>Benchmark shapes, ImplicitGemmFp32 forced, cp.async kernels (emulated).</summary>
public sealed class ConvBenchmarkShapes_ImplicitFp32_Emulated() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32));

/// <summary>Benchmark shapes, ImplicitGemmFp32 forced, plain-load kernels of sm_70 (emulated).</summary>
public sealed class ConvBenchmarkShapes_ImplicitFp32Sm70_Emulated() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmFp32, 70));

/// <summary>Benchmark shapes, ImplicitGemmTf32 forced (emulated).</summary>
public sealed class ConvBenchmarkShapes_ImplicitTf32_Emulated() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.ImplicitGemmTf32));

/// <summary>Benchmark shapes, PointwiseGemm forced (emulated; only the pointwise shape runs it, the rest fall back).</summary>
public sealed class ConvBenchmarkShapes_PointwiseGemm_Emulated() : ConvBenchmarkShapesSuite(ConvAlgorithmBackends.Emulated(ConvAlgorithm.PointwiseGemm));
