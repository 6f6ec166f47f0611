using BenchmarkDotNet.Configs;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// The global configuration of a BenchmarkDotNet run: the % of peak and images/s columns (each shown only for the benchmarks it applies to; GFLOP/s comes from
/// <see cref="OpsBenchmarkConfig"/> on the FLOP-counting classes). In-process mode is
/// BenchmarkDotNet's <c>--inProcess</c> option, which puts the command-line jobs on its InProcessEmitToolchain
/// (<see cref="Program"/> adds it when no SDK is installed).
/// </summary>
public static class HarnessConfig
{
    /// <summary>Creates the configuration.</summary>
    public static IConfig Create() =>
        ManualConfig.Create(DefaultConfig.Instance)
            .AddColumn(new PercentOfPeakColumn(), new ImagesPerSecondColumn());
}
