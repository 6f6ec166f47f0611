using BenchmarkDotNet.Attributes;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Ops;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks.PerOp;

/// <summary>
/// Convolution forward, backward-data and backward-weights on every available backend, over the shapes of
/// benchmarks/conv-shapes.json with the batch as a parameter. Each measured call ends with Synchronize, so GPU
/// times are device times, not queueing times.
/// </summary>
[Config(typeof(OpsBenchmarkConfig))]
public class ConvolutionBenchmarks : IFlopCount, IDisposable
{
    private IBackend? _backend;
    private ConvCase? _case;

    /// <summary>The available backends.</summary>
    public static IEnumerable<string> Backends => BenchmarkBackends.Available;

    /// <summary>The shape names, in table order.</summary>
    public static IEnumerable<string> ShapeNames => ShapeTable.Convolutions.Select(s => s.Name);

    /// <summary>The batch sizes.</summary>
    public static IEnumerable<int> Batches => BatchSizes.Values;

    /// <summary>Backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = BenchmarkBackends.Cpu;

    /// <summary>Shape under test (its N replaced by <see cref="Batch"/>).</summary>
    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "resnet";

    /// <summary>Batch size.</summary>
    [ParamsSource(nameof(Batches))]
    public int Batch { get; set; } = 8;

    private ConvShape Case => ShapeTable.Convolution(Shape) with { N = Batch };

    /// <summary>Creates the backend and fills the tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchmarkBackends.Create(Backend);
        _case = new ConvCase(_backend, Case);
        _case.Forward(); // first-use costs (workspaces, kernel loading) stay out of the measurement
    }

    /// <summary>y = conv(x, w) + b.</summary>
    [Benchmark]
    public void Forward() => _case!.Forward();

    /// <summary>dx from dy and w.</summary>
    [Benchmark]
    public void BackwardData() => _case!.BackwardData();

    /// <summary>dw from x and dy.</summary>
    [Benchmark]
    public void BackwardWeights() => _case!.BackwardWeights();

    /// <inheritdoc/>
    public double FlopsFor(string method) => Case.Flops;

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
