using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// The global configuration of a BenchmarkDotNet run: the GFLOP/s, % of peak and images/s columns, and in-process
/// mode. In-process, the default job uses <see cref="InProcessEmitToolchain"/>, so nothing is generated or built at
/// run time (a GPU host without the .NET SDK); command-line job options such as <c>--job short</c> refine that job.
/// </summary>
public static class HarnessConfig
{
    /// <summary>Creates the configuration.</summary>
    public static IConfig Create(bool inProcess)
    {
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddColumn(new GflopsColumn(), new PercentOfPeakColumn(), new ImagesPerSecondColumn());
        if (inProcess)
            config = config.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithId("InProcess").AsDefault());
        return config;
    }
}
