using BenchmarkDotNet.Configs;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// The global configuration of a BenchmarkDotNet run: the GFLOP/s, % of peak and images/s columns. In-process mode is
/// BenchmarkDotNet's <c>--inProcess</c> option, which puts the command-line jobs on its InProcessEmitToolchain
/// (<see cref="Program"/> adds it when no SDK is installed).
/// </summary>
public static class HarnessConfig
{
    /// <summary>Creates the configuration.</summary>
    public static IConfig Create() =>
        ManualConfig.Create(DefaultConfig.Instance)
            .AddColumn(new GflopsColumn(), new PercentOfPeakColumn(), new ImagesPerSecondColumn());
}
