using BenchmarkDotNet.Attributes;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks.PerOp;

/// <summary>
/// Max and average pooling, forward and backward, on every available backend over the pooling shapes of
/// benchmarks/conv-shapes.json with the batch as a parameter. Pooling is memory-bound, so there is no GFLOP/s column.
/// </summary>
public class PoolingBenchmarks : IDisposable
{
    private IBackend? _backend;
    private PoolCase? _case;

    /// <summary>The available backends.</summary>
    public static IEnumerable<string> Backends => BenchmarkBackends.Available;

    /// <summary>The pooling shape names, in table order.</summary>
    public static IEnumerable<string> ShapeNames => ShapeTable.Pools.Select(s => s.Name);

    /// <summary>The batch sizes.</summary>
    public static IEnumerable<int> Batches => BatchSizes.Values;

    /// <summary>Backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = BenchmarkBackends.Cpu;

    /// <summary>Shape under test (its N replaced by <see cref="Batch"/>).</summary>
    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "lenet-s2";

    /// <summary>Batch size.</summary>
    [ParamsSource(nameof(Batches))]
    public int Batch { get; set; } = 64;

    /// <summary>Creates the backend and fills the tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchmarkBackends.Create(Backend);
        _case = new PoolCase(_backend, ShapeTable.Pool(Shape).Geometry(Batch));
    }

    /// <summary>Max pooling forward.</summary>
    [Benchmark]
    public void MaxForward() => _case!.MaxForward();

    /// <summary>Max pooling backward.</summary>
    [Benchmark]
    public void MaxBackward() => _case!.MaxBackward();

    /// <summary>Average pooling forward.</summary>
    [Benchmark]
    public void AvgForward() => _case!.AvgForward();

    /// <summary>Average pooling backward.</summary>
    [Benchmark]
    public void AvgBackward() => _case!.AvgBackward();

    /// <summary>Frees the tensors and the backend.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _case?.Dispose();
        _backend?.Dispose();
        (_case, _backend) = (null, null);
        GC.SuppressFinalize(this);
    }
}
