using BenchmarkDotNet.Attributes;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// What the one-thread-at-a-time check costs on the hot path (docs/reliability.md): entering and leaving a
/// <see cref="ConcurrencyGuard"/> alone, next to the cheapest guarded op (a Fill of one element on the CPU backend),
/// which pays it once per call. A training step of LeNet-5 makes a few dozen op calls.
/// </summary>
public class ConcurrencyGuardBenchmarks : IDisposable
{
    private readonly ConcurrencyGuard _guard = new(() => "benchmark");
    private IBackend? _backend;
    private Tensor? _one;

    /// <summary>A single-threaded CPU backend and a one-element tensor.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend.Cpu(1);
        _one = _backend.Allocate(TensorShape.Vector(1));
    }

    /// <summary>Enter and leave the guard, uncontended.</summary>
    [Benchmark(Baseline = true)]
    public void EnterAndLeave()
    {
        using var use = _guard.Enter("op");
    }

    /// <summary>The cheapest guarded op: argument checks, the guard, and writing one float.</summary>
    [Benchmark]
    public void FillOneElement() => _backend!.Fill(_one!, 1f);

    /// <summary>Frees the tensor and the backend.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _one?.Dispose();
        _backend?.Dispose();
        (_one, _backend) = (null, null);
        GC.SuppressFinalize(this);
    }
}
