using BenchmarkDotNet.Configs;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>Adds the GFLOP/s column to the default configuration (jobs still come from the command line, e.g. --job short).</summary>
public sealed class OpsBenchmarkConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public OpsBenchmarkConfig() => AddColumn(new GflopsColumn());
}
