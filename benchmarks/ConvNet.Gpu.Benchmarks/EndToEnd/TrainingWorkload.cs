using System.Diagnostics;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Benchmarks.EndToEnd;

/// <summary>
/// A model, its optimizer and loss on one backend, with a device-resident random batch: what the training-step and
/// epoch benchmarks time. Models: "lenet5" (<see cref="Models.LeNet5"/>, 61,706 parameters, SGD lr 0.05 momentum 0.9
/// as in the PyTorch peer) and "vgg-small" (<see cref="Models.VggSmall"/>, SGD lr 0.01 momentum 0.9).
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

    /// <summary>Builds <paramref name="model"/> on <paramref name="backend"/> with a random (batch, 1, 28, 28) batch and labels.</summary>
    public TrainingWorkload(IBackend backend, string model, int batch)
    {
        _backend = backend;
        Batch = batch;
        Model = model switch
        {
            "lenet5" => Models.LeNet5(backend),
            "vgg-small" => Models.VggSmall(backend),
            _ => throw new ArgumentException($"unknown model '{model}' (expected {string.Join(", ", AllModelNames)})", nameof(model)),
        };
        Optimizer = new Sgd(model == "lenet5" ? 0.05f : 0.01f, momentum: 0.9f);
        Loss = new SoftmaxCrossEntropyLoss();
        var rng = new Random(7);
        var pixels = new float[batch * 28 * 28];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = rng.NextSingle();
        var classes = new int[batch];
        for (int i = 0; i < batch; i++) classes[i] = rng.Next(10);
        _images = backend.Allocate(TensorShape.Nchw(batch, 1, 28, 28));
        _images.Upload(pixels);
        _labels = backend.Allocate(TensorShape.Vector(batch), DataType.Int32);
        backend.Upload(_labels, classes);
    }

    /// <summary>Images per step.</summary>
    public int Batch { get; }

    /// <summary>The network.</summary>
    public Sequential Model { get; }

    /// <summary>Its optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Softmax cross-entropy.</summary>
    public ClassificationLoss Loss { get; }

    /// <summary>One forward, backward and SGD update on the device batch; waits for the device.</summary>
    public float Step()
    {
        float loss = Model.TrainStep(_images, _labels, Loss, Optimizer);
        _backend.Synchronize();
        return loss;
    }

    /// <summary>
    /// One epoch of <see cref="Trainer.Fit(Dataset, TrainingOptions)"/> over <paramref name="data"/> (batches of <see cref="Batch"/>, shuffled,
    /// host batches uploaded per step as in real training); returns the wall time in seconds.
    /// </summary>
    public double Epoch(Dataset data)
    {
        var trainer = new Trainer(Model, Optimizer, Loss);
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
        _images.Dispose();
        _labels.Dispose();
        Loss.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}
