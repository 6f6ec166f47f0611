using BenchmarkDotNet.Attributes;
using ConvNet.Gpu.Benchmarks.Harness;

namespace ConvNet.Gpu.Benchmarks.EndToEnd;

/// <summary>
/// One training epoch through <c>Trainer.Fit</c> (shuffled host batches of 64, uploaded per step) of LeNet-5 and the
/// small VGG over <see cref="EpochData"/>: the real Fashion-MNIST training set when present, else 60,000 random
/// images. An epoch is long, so each iteration is one epoch: one warm-up epoch, then three measured.
/// </summary>
[WarmupCount(1)]
[IterationCount(3)]
[InvocationCount(1)]
public class EpochBenchmarks : IImageCount, IDisposable
{
    private IBackend? _backend;
    private TrainingWorkload? _workload;

    /// <summary>The available backends.</summary>
    public static IEnumerable<string> Backends => BenchmarkBackends.Available;

    /// <summary>The models.</summary>
    public static IEnumerable<string> ModelNames => TrainingWorkload.ModelNames;

    /// <summary>Backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = BenchmarkBackends.Cpu;

    /// <summary>"lenet5" or "vgg-small".</summary>
    [ParamsSource(nameof(ModelNames))]
    public string Model { get; set; } = "lenet5";

    /// <summary>Images per step.</summary>
    [Params(64)]
    public int Batch { get; set; } = 64;

    /// <summary>Builds the model and loads the epoch's data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchmarkBackends.Create(Backend);
        _workload = new TrainingWorkload(_backend, Model, Batch);
        Console.WriteLine($"// epoch data: {EpochData.Get()}");
    }

    /// <summary>One epoch; returns its wall time in seconds.</summary>
    [Benchmark]
    public double Epoch() => _workload!.Epoch(EpochData.Get());

    /// <inheritdoc/>
    public double ImagesFor(string method) => EpochData.Get().Count;

    /// <summary>Frees the model and the backend.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _backend?.Dispose();
        (_workload, _backend) = (null, null);
        GC.SuppressFinalize(this);
    }
}
