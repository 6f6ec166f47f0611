using BenchmarkDotNet.Attributes;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>CPU convolution forward, backward-data and backward-weights over the shared <see cref="ConvShapes"/> table.</summary>
[Config(typeof(OpsBenchmarkConfig))]
public class CpuConvBenchmarks : IFlopCount, IDisposable
{
    private IBackend? _backend;
    private ConvCase? _case;

    /// <summary>Shape names from <see cref="ConvShapes.All"/>.</summary>
    public static IEnumerable<string> ShapeNames => ConvShapes.All.Select(s => s.Name);

    /// <summary>The shape under test.</summary>
    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "resnet";

    /// <summary>Allocates the tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend.Cpu();
        _case = new ConvCase(_backend, ConvShapes.ByName(Shape));
    }

    /// <summary>y = conv(x, w) + b.</summary>
    [Benchmark]
    public void Forward() => _case!.Forward();

    /// <summary>dx from dy.</summary>
    [Benchmark]
    public void BackwardData() => _case!.BackwardData();

    /// <summary>dw from x and dy.</summary>
    [Benchmark]
    public void BackwardWeights() => _case!.BackwardWeights();

    /// <inheritdoc/>
    public double FlopsFor(string method) => ConvShapes.ByName(Shape).Flops;

    /// <summary>Frees the tensors and the backend.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _case?.Dispose();
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }
}
