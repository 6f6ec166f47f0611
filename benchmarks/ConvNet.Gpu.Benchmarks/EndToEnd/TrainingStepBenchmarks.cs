using BenchmarkDotNet.Attributes;
using ConvNet.Gpu.Benchmarks.Harness;

namespace ConvNet.Gpu.Benchmarks.EndToEnd;

/// <summary>
/// One training step (forward, loss, backward, SGD update) of LeNet-5 and the small VGG on a random Fashion-MNIST-sized
/// batch that already lives on the device, per backend; the images/s column is batch / mean step time.
/// </summary>
public class TrainingStepBenchmarks : IImageCount, IDisposable
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

    /// <summary>
    /// The loop: "host" (TrainStep: per-op launches, the loss read back every step), "eager" (the device loop, kernels
    /// one by one) or "graph" (the device loop replaying the step's CUDA graph); eager and graph only on CUDA.
    /// </summary>
    [ParamsSource(nameof(Loops))]
    public string Loop { get; set; } = "host";

    /// <summary>The loops of <see cref="Loop"/> for the backends in this run.</summary>
    public static IEnumerable<string> Loops => BenchmarkBackends.Available.Any(b => b != BenchmarkBackends.Cpu) ? ["host", "eager", "graph"] : ["host"];

    /// <summary>Images per step.</summary>
    [Params(64, 256)]
    public int Batch { get; set; } = 64;

    /// <summary>Builds the model and the batch, and runs a few steps so lazy allocations are done.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchmarkBackends.Create(Backend);
        _workload = new TrainingWorkload(_backend, Model, Batch, Loop);
        for (int i = 0; i < 3; i++) _workload.Step();
    }

    /// <summary>One synchronized training step.</summary>
    [Benchmark]
    public float TrainStep() => _workload!.Step();

    /// <inheritdoc/>
    public double ImagesFor(string method) => Batch;

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
