using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Ops;

namespace ConvNet.Gpu.Tests.Cuda;

// The kernel-backed suites again on the emulated device with other launch geometries (testing.md, "Launch geometry";
// Caffe test_im2col_kernel.cu): block sizes 32, 128, 256 and 100 (not a power of two, so the reduction tree's fold step runs),
// with grids capped at 1 to 8 blocks, so every grid-stride loop and every one-block-per-row/channel loop takes several
// rounds. The suites poison every output with NaN before each run and check that every element was written.
// (GEMM is left out: it is cuBLAS, not our kernels.)

/// <summary>Launch geometries under test.</summary>
internal static class Geometries
{
    public static readonly CudaBackendOptions Block32Grid1 = CudaTestBackends.EmulatedOptions with { BlockSize = 32, MaxGridBlocks = 1 };
    public static readonly CudaBackendOptions Block128Grid3 = CudaTestBackends.EmulatedOptions with { BlockSize = 128, MaxGridBlocks = 3 };
    public static readonly CudaBackendOptions Block256Grid2 = CudaTestBackends.EmulatedOptions with { BlockSize = 256, MaxGridBlocks = 2 };
    public static readonly CudaBackendOptions Block100Grid8 = CudaTestBackends.EmulatedOptions with { BlockSize = 100, MaxGridBlocks = 8 };
}

/// <summary>Conv ops, block 32, one block.</summary>
public sealed class ConvOps_CudaEmulated_Block32Grid1() : ConvOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Conv ops, block 128, three blocks.</summary>
public sealed class ConvOps_CudaEmulated_Block128Grid3() : ConvOpsSuite(CudaTestBackends.Emulated(Geometries.Block128Grid3));

/// <summary>Pooling, block 32, one block.</summary>
public sealed class PoolOps_CudaEmulated_Block32Grid1() : PoolOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Pooling, block 100, eight blocks.</summary>
public sealed class PoolOps_CudaEmulated_Block100Grid8() : PoolOpsSuite(CudaTestBackends.Emulated(Geometries.Block100Grid8));

/// <summary>Activations, block 32, one block.</summary>
public sealed class ActivationOps_CudaEmulated_Block32Grid1() : ActivationOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Softmax and losses, block 32, one block (rows loop inside one block).</summary>
public sealed class SoftmaxLossOps_CudaEmulated_Block32Grid1() : SoftmaxLossOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Softmax and losses, block 100, eight blocks.</summary>
public sealed class SoftmaxLossOps_CudaEmulated_Block100Grid8() : SoftmaxLossOpsSuite(CudaTestBackends.Emulated(Geometries.Block100Grid8));

/// <summary>Element-wise ops and reductions, block 32, one block.</summary>
public sealed class ElementwiseOps_CudaEmulated_Block32Grid1() : ElementwiseOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Element-wise ops and reductions, block 100, eight blocks.</summary>
public sealed class ElementwiseOps_CudaEmulated_Block100Grid8() : ElementwiseOpsSuite(CudaTestBackends.Emulated(Geometries.Block100Grid8));

/// <summary>Batch normalization, block 32, one block (channels loop inside one block).</summary>
public sealed class BatchNormOps_CudaEmulated_Block32Grid1() : BatchNormOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Batch normalization, block 128, three blocks.</summary>
public sealed class BatchNormOps_CudaEmulated_Block128Grid3() : BatchNormOpsSuite(CudaTestBackends.Emulated(Geometries.Block128Grid3));

/// <summary>Conv ops, block 256, two blocks.</summary>
public sealed class ConvOps_CudaEmulated_Block256Grid2() : ConvOpsSuite(CudaTestBackends.Emulated(Geometries.Block256Grid2));

/// <summary>Pooling, block 256, two blocks.</summary>
public sealed class PoolOps_CudaEmulated_Block256Grid2() : PoolOpsSuite(CudaTestBackends.Emulated(Geometries.Block256Grid2));

/// <summary>Softmax and losses, block 256, two blocks.</summary>
public sealed class SoftmaxLossOps_CudaEmulated_Block256Grid2() : SoftmaxLossOpsSuite(CudaTestBackends.Emulated(Geometries.Block256Grid2));

/// <summary>Element-wise ops and reductions, block 256, two blocks.</summary>
public sealed class ElementwiseOps_CudaEmulated_Block256Grid2() : ElementwiseOpsSuite(CudaTestBackends.Emulated(Geometries.Block256Grid2));

/// <summary>Batch normalization, block 256, two blocks.</summary>
public sealed class BatchNormOps_CudaEmulated_Block256Grid2() : BatchNormOpsSuite(CudaTestBackends.Emulated(Geometries.Block256Grid2));

/// <summary>Fused layer ops, block 32, one block (every channel of the backward prologue loops inside one block).</summary>
public sealed class EpilogueOps_CudaEmulated_Block32Grid1() : EpilogueOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

/// <summary>Fused layer ops, block 100, eight blocks.</summary>
public sealed class EpilogueOps_CudaEmulated_Block100Grid8() : EpilogueOpsSuite(CudaTestBackends.Emulated(Geometries.Block100Grid8));

/// <summary>Optimizer steps, block 100, eight blocks (multi-tensor chunks loop over the grid).</summary>
public sealed class OptimizerOps_CudaEmulated_Block100Grid8() : OptimizerOpsSuite(CudaTestBackends.Emulated(Geometries.Block100Grid8));

/// <summary>Optimizer steps, block 32, one block.</summary>
public sealed class OptimizerOps_CudaEmulated_Block32Grid1() : OptimizerOpsSuite(CudaTestBackends.Emulated(Geometries.Block32Grid1));

// The same small geometries on a real GPU (skipped, with the reason, when there is none).

/// <summary>Conv ops on a GPU, block 32, one block.</summary>
public sealed class ConvOps_CudaGpu_Block32Grid1() : ConvOpsSuite(CudaTestBackends.Gpu(Geometries.Block32Grid1 with { UseMemoryPool = true }));

/// <summary>Pooling on a GPU, block 128, three blocks.</summary>
public sealed class PoolOps_CudaGpu_Block128Grid3() : PoolOpsSuite(CudaTestBackends.Gpu(Geometries.Block128Grid3 with { UseMemoryPool = true }));

/// <summary>Softmax and losses on a GPU, block 100, eight blocks.</summary>
public sealed class SoftmaxLossOps_CudaGpu_Block100Grid8() : SoftmaxLossOpsSuite(CudaTestBackends.Gpu(Geometries.Block100Grid8 with { UseMemoryPool = true }));

/// <summary>Element-wise ops and reductions on a GPU, block 32, one block.</summary>
public sealed class ElementwiseOps_CudaGpu_Block32Grid1() : ElementwiseOpsSuite(CudaTestBackends.Gpu(Geometries.Block32Grid1 with { UseMemoryPool = true }));

/// <summary>Batch normalization on a GPU, block 100, eight blocks.</summary>
public sealed class BatchNormOps_CudaGpu_Block100Grid8() : BatchNormOpsSuite(CudaTestBackends.Gpu(Geometries.Block100Grid8 with { UseMemoryPool = true }));
