using ConvNet.Gpu.Tests.Gradients;
using ConvNet.Gpu.Tests.Nn;

namespace ConvNet.Gpu.Tests.Cuda;

// Gradient checks and layer behaviour on CUDA: float32 central differences of every op and layer (Caffe's
// GradientChecker thresholds), a whole network checked layer by layer, and the layers' forward/backward behaviour,
// on the emulated device and on a real GPU (skipped, with the reason, when none is usable).

/// <summary>Float32 gradient checks of every op on CUDA (emulated).</summary>
public sealed class GradientChecks_CudaEmulated() : GradientCheckSuite(CudaTestBackends.Emulated());

/// <summary>Float32 gradient checks of every layer on CUDA (emulated).</summary>
public sealed class LayerGradients_CudaEmulated() : LayerGradientSuite(CudaTestBackends.CreateEmulated());

/// <summary>Whole-network gradient check, layer by layer, on CUDA (emulated).</summary>
public sealed class NetworkGradients_CudaEmulated() : NetworkGradientSuite(CudaTestBackends.CreateEmulated());

/// <summary>Layer behaviour (shapes, modes, parameter handling) on CUDA (emulated).</summary>
public sealed class LayerBehaviour_CudaEmulated() : LayerBehaviourSuite(CudaTestBackends.CreateEmulated());

/// <summary>Float32 gradient checks of every op on a real GPU.</summary>
public sealed class GradientChecks_CudaGpu() : GradientCheckSuite(CudaTestBackends.Gpu());

/// <summary>Float32 gradient checks of every layer on a real GPU.</summary>
public sealed class LayerGradients_CudaGpu() : LayerGradientSuite(CudaTestBackends.CreateGpu());

/// <summary>Whole-network gradient check on a real GPU.</summary>
public sealed class NetworkGradients_CudaGpu() : NetworkGradientSuite(CudaTestBackends.CreateGpu());

/// <summary>Layer behaviour on a real GPU.</summary>
public sealed class LayerBehaviour_CudaGpu() : LayerBehaviourSuite(CudaTestBackends.CreateGpu());

/// <summary>The two-branch graph model (Concat, Add, a shared layer) against the hand computation on CUDA (emulated).</summary>
public sealed class GraphGradients_CudaEmulated() : GraphGradientSuite(CudaTestBackends.CreateEmulated());

/// <summary>The two-branch graph model against the hand computation on a real GPU.</summary>
public sealed class GraphGradients_CudaGpu() : GraphGradientSuite(CudaTestBackends.CreateGpu());
