using ConvNet.Gpu.Tests.Infrastructure;

namespace ConvNet.Gpu.Tests.Ops;

// One concrete class per op-family suite, running it on the CPU backend against the float64 reference.
// The CUDA helpers add the same pattern in tests/ConvNet.Gpu.Tests/Cuda/ (see TestBackends).

/// <summary>Conv ops on the CPU backend.</summary>
public sealed class ConvOps_Cpu() : ConvOpsSuite(TestBackends.Cpu());

/// <summary>Conv ops on a single-threaded CPU backend (the serial, non-partitioned paths).</summary>
public sealed class ConvOps_CpuSingleThread() : ConvOpsSuite(TestBackends.Cpu(threads: 1));

/// <summary>Pooling and upsampling on the CPU backend.</summary>
public sealed class PoolOps_Cpu() : PoolOpsSuite(TestBackends.Cpu());

/// <summary>Activations on the CPU backend.</summary>
public sealed class ActivationOps_Cpu() : ActivationOpsSuite(TestBackends.Cpu());

/// <summary>Softmax and losses on the CPU backend.</summary>
public sealed class SoftmaxLossOps_Cpu() : SoftmaxLossOpsSuite(TestBackends.Cpu());

/// <summary>Element-wise ops, reductions and dropout on the CPU backend.</summary>
public sealed class ElementwiseOps_Cpu() : ElementwiseOpsSuite(TestBackends.Cpu());

/// <summary>GEMM on the CPU backend.</summary>
public sealed class GemmOps_Cpu() : GemmOpsSuite(TestBackends.Cpu());

/// <summary>Batch normalization on the CPU backend.</summary>
public sealed class BatchNormOps_Cpu() : BatchNormOpsSuite(TestBackends.Cpu());

/// <summary>Optimizer steps on the CPU backend.</summary>
public sealed class OptimizerOps_Cpu() : OptimizerOpsSuite(TestBackends.Cpu());

/// <summary>Bad-input rejection on the CPU backend.</summary>
public sealed class BadInput_Cpu() : BadInputSuite(TestBackends.Cpu());

/// <summary>Fused bias/activation layer ops on the CPU backend.</summary>
public sealed class EpilogueOps_Cpu() : EpilogueOpsSuite(TestBackends.Cpu());

/// <summary>In-place calls (outputs that are their inputs) on the CPU backend.</summary>
public sealed class AliasingOps_Cpu() : AliasingOpsSuite(TestBackends.Cpu());
