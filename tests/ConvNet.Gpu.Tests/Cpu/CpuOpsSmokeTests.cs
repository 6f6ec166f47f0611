using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// Quick self-checks of the CPU backend's non-GEMM ops against straightforward float64 loops written here.
/// Outputs are poisoned with NaN first so any element an op forgets to write fails. The families live in
/// the partial files CpuOpsSmokeTests.*.cs.
/// </summary>
public sealed partial class CpuOpsSmokeTests
{
    private static readonly int[] ThreadCounts = [1, 4];
}
