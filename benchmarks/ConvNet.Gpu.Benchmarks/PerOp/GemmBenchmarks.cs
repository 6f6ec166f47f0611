using BenchmarkDotNet.Attributes;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.PerOp;

/// <summary>SGEMM C = A B (row-major, square) on every available backend: our packed SIMD GEMM on the CPU, cuBLAS on CUDA.</summary>
[Config(typeof(OpsBenchmarkConfig))]
public class GemmBenchmarks : IFlopCount, IDisposable
{
    private IBackend? _backend;
    private GemmCase? _case;

    /// <summary>The available backends.</summary>
    public static IEnumerable<string> Backends => BenchmarkBackends.Available;

    /// <summary>Backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = BenchmarkBackends.Cpu;

    /// <summary>m = n = k.</summary>
    [Params(512, 1024, 2048)]
    public int Size { get; set; } = 1024;

    /// <summary>Creates the backend and fills the operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchmarkBackends.Create(Backend);
        _case = new GemmCase(_backend, Size, Size, Size);
        _case.Run();
    }

    /// <summary>One GEMM, synchronized.</summary>
    [Benchmark]
    public void Sgemm() => _case!.Run();

    /// <inheritdoc/>
    public double FlopsFor(string method) => 2.0 * Size * Size * Size;

    /// <summary>Frees the operands and the backend.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _case?.Dispose();
        _backend?.Dispose();
        (_case, _backend) = (null, null);
        GC.SuppressFinalize(this);
    }
}
