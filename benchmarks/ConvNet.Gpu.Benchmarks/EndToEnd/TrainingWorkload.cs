using System.Diagnostics;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Benchmarks.EndToEnd;

/// <summary>
/// A model, its optimizer and loss on one backend, with a device-resident random batch: what the training-step and
/// epoch benchmarks time. Models come from the library's <see cref="ModelRegistry"/> for 1x28x28 inputs and 10 classes:
/// "lenet5" (61,706 parameters, SGD lr 0.05 momentum 0.9 as in the PyTorch peer) and "vgg-small" (SGD lr 0.01 momentum 0.9).
/// </summary>
public sealed class TrainingWorkload : IDisposable
{
    /// <summary>Every model this workload can build.</summary>
    public static IReadOnlyList<string> AllModelNames { get; } = ["lenet5", "vgg-small"];

    /// <summary>Environment variable restricting the end-to-end benchmarks' models (comma-separated).</summary>
    public const string ModelsVariable = "CONVNET_BENCH_MODELS";

    /// <summary>The models to benchmark: <see cref="AllModelNames"/>, or those listed in <see cref="ModelsVariable"/>.</summary>
    public static IReadOnlyList<string> ModelNames =>
        Environment.GetEnvironmentVariable(ModelsVariable) is { Length: > 0 } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : AllModelNames;

    private readonly IBackend _backend;
    private readonly Tensor _images, _labels;
    private readonly Trainer _trainer;
    private readonly float[] _hostImages;
    private readonly int[] _hostLabels;
    private readonly Trainer? _deviceTrainer;
    private readonly DeviceStepLoop? _device;

    /// <summary>Builds <paramref name="model"/> on <paramref name="backend"/> with a random (batch, 1, 28, 28) batch and labels.</summary>
    /// <param name="backend">Where the model lives.</param>
    /// <param name="model">"lenet5" or "vgg-small".</param>
    /// <param name="batch">Images per step.</param>
    /// <param name="loop">"host" (<see cref="Trainer.TrainStep(Tensor, Tensor, NonFiniteLossPolicy)"/> on the device batch), or on
    /// CUDA "eager" / "graph": the device loop of Fit (host batch uploaded through the pinned double buffer every step, the
    /// step's kernels launched one by one or replayed as one CUDA graph).</param>
    public TrainingWorkload(IBackend backend, string model, int batch, string loop = "host")
    {
        _backend = backend;
        Batch = batch;
        if (!AllModelNames.Contains(model))
            throw new ArgumentException($"unknown model '{model}' (expected {string.Join(", ", AllModelNames)})", nameof(model));
        Model = ModelRegistry.Create(model, backend, ConvNet.Gpu.Nn.Shapes.Image(1, 28, 28), classes: 10);
        Optimizer = new Sgd(model == "lenet5" ? 0.05f : 0.01f, momentum: 0.9f);
        Loss = new SoftmaxCrossEntropyLoss();
        // The step benchmark times forward, loss, backward and update only, as PyTorch's peer does: no accuracy scoring.
        _trainer = new Trainer(Model, Optimizer, Loss) { Accuracy = new NoAccuracy() };
        var rng = new Random(7);
        var pixels = new float[batch * 28 * 28];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = rng.NextSingle();
        var classes = new int[batch];
        for (int i = 0; i < batch; i++) classes[i] = rng.Next(10);
        _hostImages = pixels;
        _hostLabels = classes;
        if (loop != "host")
        {
            if (loop is not ("eager" or "graph")) throw new ArgumentException($"unknown loop '{loop}' (expected host, eager or graph)", nameof(loop));
            _deviceTrainer = new Trainer(Model, Optimizer, Loss);
            _device = DeviceStepLoop.TryCreate(_deviceTrainer, new TrainingOptions { BatchSize = batch, CudaGraphs = loop == "graph" },
                Model.Parameters, out string path) ?? throw new ArgumentException($"the {loop} loop cannot run here: {path}", nameof(loop));
        }
        _images = backend.Allocate(TensorShape.Nchw(batch, 1, 28, 28));
        _images.Upload(pixels);
        _labels = backend.Allocate(TensorShape.Vector(batch), DataType.Int32);
        backend.Upload(_labels, classes);
    }

    /// <summary>Images per step.</summary>
    public int Batch { get; }

    /// <summary>The network.</summary>
    public Model Model { get; }

    /// <summary>The random device batch (batch, 1, 28, 28).</summary>
    public Tensor Images => _images;

    /// <summary>The batch's int32 labels (batch).</summary>
    public Tensor Labels => _labels;

    /// <summary>Its optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Softmax cross-entropy.</summary>
    public ClassificationLoss Loss { get; }

    /// <summary>One forward, backward and SGD update on the device batch; waits for the device.</summary>
    public float Step()
    {
        if (_device is not null)
        {
            // The device loop reads its metrics about once a second in Fit; here every 256 steps, and waits every step.
            _device.Issue(_hostImages, _hostLabels, Optimizer.LearningRate);
            float last = float.NaN;
            if (_device.Pending >= 256) last = _device.Read().Steps[^1].Loss;
            _backend.Synchronize();
            return last;
        }
        float loss = _trainer.TrainStep(_images, _labels, NonFiniteLossPolicy.SkipUpdate).Loss;
        _backend.Synchronize();
        return loss;
    }

    /// <summary>
    /// One epoch of <see cref="Trainer.Fit(Dataset, TrainingOptions)"/> over <paramref name="data"/> (batches of <see cref="Batch"/>, shuffled,
    /// host batches uploaded per step as in real training); returns the wall time in seconds.
    /// </summary>
    public double Epoch(Dataset data)
    {
        using var trainer = new Trainer(Model, Optimizer, Loss);
        var clock = Stopwatch.StartNew();
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = Batch, Shuffle = true, Seed = 1 });
        _backend.Synchronize();
        clock.Stop();
        if (history.Epochs.Count != 1) throw new InvalidOperationException($"the epoch stopped early: {history.StopReason}");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Frees the model, optimizer state, loss buffers and the batch.</summary>
    public void Dispose()
    {
        _device?.Dispose();
        _deviceTrainer?.Dispose();
        _trainer.Dispose();
        _images.Dispose();
        _labels.Dispose();
        Loss.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}
