using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>Benchmarks whose methods each do a known number of floating-point operations.</summary>
public interface IFlopCount
{
    /// <summary>FLOPs of one invocation of <paramref name="method"/> with the current parameters (2 per multiply-add).</summary>
    double FlopsFor(string method);
}

/// <summary>
/// A BenchmarkDotNet column with GFLOP/s = FLOPs / mean time, for benchmark classes implementing <see cref="IFlopCount"/>.
/// The FLOP count comes from a fresh instance with the case's parameters set.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(GflopsColumn);
    /// <inheritdoc/>
    public string ColumnName => "GFLOP/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc/>
    public int PriorityInCategory => 0;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "Billions of floating-point operations per second (2 x multiply-adds / mean time)";

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        if (Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IFlopCount counter) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(counter, p.Value);
        double flops = counter.FlopsFor(benchmarkCase.Descriptor.WorkloadMethod.Name);
        return (flops / stats.Mean).ToString("F1"); // Mean is in nanoseconds: FLOP/ns = GFLOP/s.
    }
}
