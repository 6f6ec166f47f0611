using ConvNet.Gpu.Tests.Infrastructure;

namespace ConvNet.Gpu.Tests.Gradients;

/// <summary>Float32 gradient checks on the CPU backend.</summary>
public sealed class GradientChecks_Cpu() : GradientCheckSuite(TestBackends.Cpu());
