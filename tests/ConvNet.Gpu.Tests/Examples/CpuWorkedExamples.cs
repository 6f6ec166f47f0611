using ConvNet.Gpu.Tests.Infrastructure;

namespace ConvNet.Gpu.Tests.Examples;

/// <summary>The worked examples on the CPU backend.</summary>
public sealed class WorkedExamples_Cpu() : WorkedExamplesSuite(TestBackends.Cpu());
