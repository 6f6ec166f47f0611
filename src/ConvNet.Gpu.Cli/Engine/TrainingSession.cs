using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>
/// The CLI's adapter over the training library: one model with its optimizer on one backend. Everything the commands
/// need from the library goes through here, so a change in its API touches this file only.
/// </summary>
internal sealed class TrainingSession : IDisposable
{
    private TrainingSession() { }

    /// <summary>The model name (see <see cref="ModelNames"/>).</summary>
    public string ModelName { get; private set; } = "";

    /// <summary>Trainable parameter count.</summary>
    public long ParameterCount { get; private set; }

    /// <summary>Optimizer name.</summary>
    public string Optimizer { get; private set; } = "";

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; private set; }

    /// <summary>Seed.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; private set; }

    /// <summary>Where training stands (after a resume: the checkpoint's position).</summary>
    public TrainPosition Position { get; private set; }

    /// <summary>Builds a fresh model and optimizer.</summary>
    public static TrainingSession Create(string model, IBackend backend, Dataset train, string optimizer, double learningRate, ulong seed, int batchSize) =>
        throw new CliException(ExitCodes.InternalError, "the training library is not merged into this build yet.");

    /// <summary>Restores model, optimizer and position from a checkpoint; <paramref name="expectedModel"/> (from --model) must match.</summary>
    public static TrainingSession Resume(string checkpoint, IBackend backend, Dataset train, string? expectedModel) =>
        throw new CliException(ExitCodes.InternalError, "the training library is not merged into this build yet.");

    /// <summary>The Summary table of <paramref name="model"/> built for 1x28x28 inputs and 10 classes, on the CPU.</summary>
    public static string SummaryOf(string model) => model;

    /// <summary>Throws a data error when the dataset does not fit the model's input or classes.</summary>
    public void CheckCompatible(Dataset data) { }

    /// <summary>Batches per epoch for <paramref name="train"/>.</summary>
    public int BatchesPerEpoch(Dataset train) => (train.Count + BatchSize - 1) / BatchSize;

    /// <summary>The Summary table.</summary>
    public string Summary() => "";

    /// <summary>The first convolution layer's weights.</summary>
    public FilterBank? FirstConvFilters() => null;

    /// <summary>Trains up to <paramref name="epochs"/> epochs from <see cref="Position"/>; stops at a batch boundary when cancelled.</summary>
    public FitOutcome Fit(Dataset train, int epochs, Action<int, int> onEpochStart, Action<BatchEvent> onBatch, Action<EpochEvent> onEpochEnd,
        CancellationToken cancellationToken) => throw new NotSupportedException();

    /// <summary>A full pass over <paramref name="data"/> in inference mode.</summary>
    public EvaluationResult Evaluate(Dataset data) => throw new NotSupportedException();

    /// <summary>Writes a checkpoint (atomically) with the model, optimizer, position and run settings.</summary>
    public void Save(string path) => throw new NotSupportedException();

    /// <inheritdoc/>
    public void Dispose() { }
}
