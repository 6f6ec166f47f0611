using BenchmarkDotNet.Attributes;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>CPU SGEMM, C = op(A) op(B), square sizes (1024^3 is the headline number).</summary>
[Config(typeof(OpsBenchmarkConfig))]
public class CpuSgemmBenchmarks : IFlopCount, IDisposable
{
    private IBackend? _backend;
    private GemmCase? _case;

    /// <summary>m = n = k.</summary>
    [Params(256, 1024)]
    public int Size { get; set; }

    /// <summary>Transposes as "NN", "TN", "NT" or "TT".</summary>
    [Params("NN", "NT")]
    public string Transposes { get; set; } = "NN";

    /// <summary>Allocates the operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend.Cpu();
        _case = new GemmCase(_backend, Size, Size, Size, Transposes[0] == 'T', Transposes[1] == 'T');
    }

    /// <summary>One GEMM.</summary>
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
        GC.SuppressFinalize(this);
    }
}
