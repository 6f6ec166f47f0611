using System.Globalization;

namespace ConvNet.Gpu.Benchmarks.PerOp;

/// <summary>
/// Batch sizes for the per-op benchmarks' <c>Batch</c> parameter: 8 and 64 (the shape table's two batch sizes), or the
/// comma-separated list in <c>CONVNET_BENCH_BATCHES</c>. The table's other dimensions stay fixed.
/// </summary>
public static class BatchSizes
{
    /// <summary>Environment variable overriding the batch sizes, e.g. "1,8,64,256".</summary>
    public const string Variable = "CONVNET_BENCH_BATCHES";

    /// <summary>The batch sizes to run.</summary>
    public static IEnumerable<int> Values =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))
            : [8, 64];
}
