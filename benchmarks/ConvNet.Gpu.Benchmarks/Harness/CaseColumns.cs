using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>Benchmarks whose methods each process a known number of images (training steps and epochs).</summary>
public interface IImageCount
{
    /// <summary>Images processed by one invocation of <paramref name="method"/> with the current parameters.</summary>
    double ImagesFor(string method);
}

/// <summary>
/// Base of the harness's computed columns: recreates the benchmark object with the case's parameters (no setup runs)
/// and derives a value from it and the mean time.
/// </summary>
public abstract class CaseColumn : IColumn
{
    /// <inheritdoc/>
    public abstract string Id { get; }
    /// <inheritdoc/>
    public abstract string ColumnName { get; }
    /// <inheritdoc/>
    public abstract string Legend { get; }
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc/>
    public virtual int PriorityInCategory => 1;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => AppliesTo(c.Descriptor.Type));

    /// <summary>Whether benchmarks of <paramref name="type"/> have a value in this column (others show none).</summary>
    protected abstract bool AppliesTo(Type type);
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        object? instance = Activator.CreateInstance(benchmarkCase.Descriptor.Type);
        if (instance is null) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
        string? backend = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Backend")?.Value as string;
        return Compute(instance, benchmarkCase.Descriptor.WorkloadMethod.Name, backend, stats.Mean) ?? "-";
    }

    /// <summary>The cell text, or null for "-": <paramref name="meanNanoseconds"/> is the mean time of one invocation.</summary>
    protected abstract string? Compute(object benchmark, string method, string? backend, double meanNanoseconds);
}

/// <summary>"% peak": GFLOP/s as a percentage of the backend's ceiling (<see cref="DevicePeak"/>).</summary>
public sealed class PercentOfPeakColumn : CaseColumn
{
    /// <inheritdoc/>
    public override string Id => nameof(PercentOfPeakColumn);
    /// <inheritdoc/>
    public override string ColumnName => "% peak";
    /// <inheritdoc/>
    public override int PriorityInCategory => 2;
    /// <inheritdoc/>
    public override string Legend =>
        $"GFLOP/s over the backend's FP32 ceiling: CPU {DevicePeak.For(BenchmarkBackends.Cpu).Source}; CUDA: cuBLAS SGEMM " +
        $"8192^3 (TF32 off) measured at first use and printed, or ${DevicePeak.GpuPeakVariable}";

    /// <inheritdoc/>
    protected override bool AppliesTo(Type type) => typeof(IFlopCount).IsAssignableFrom(type);

    /// <inheritdoc/>
    protected override string? Compute(object benchmark, string method, string? backend, double meanNanoseconds)
    {
        if (benchmark is not IFlopCount counter || backend is null) return null;
        double gflops = counter.FlopsFor(method) / meanNanoseconds; // FLOP/ns = GFLOP/s
        return (100 * gflops / DevicePeak.For(backend).Gflops).ToString("F1");
    }
}

/// <summary>"images/s": images per invocation over the mean time.</summary>
public sealed class ImagesPerSecondColumn : CaseColumn
{
    /// <inheritdoc/>
    public override string Id => nameof(ImagesPerSecondColumn);
    /// <inheritdoc/>
    public override string ColumnName => "images/s";
    /// <inheritdoc/>
    public override string Legend => "Training images processed per second (images per invocation / mean time)";

    /// <inheritdoc/>
    protected override bool AppliesTo(Type type) => typeof(IImageCount).IsAssignableFrom(type);

    /// <inheritdoc/>
    protected override string? Compute(object benchmark, string method, string? backend, double meanNanoseconds) =>
        benchmark is IImageCount counter ? (counter.ImagesFor(method) / (meanNanoseconds * 1e-9)).ToString("N0") : null;
}
