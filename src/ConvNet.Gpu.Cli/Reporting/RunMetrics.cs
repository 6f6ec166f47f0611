using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConvNet.Gpu.Cli.Reporting;

/// <summary>One finished epoch: training averages over the epoch, then a full pass over the test set.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches (weighted by batch size).</param>
/// <param name="TrainAccuracy">Fraction of training images classified correctly during the epoch (0..1).</param>
/// <param name="TestLoss">Mean loss on the test set after the epoch.</param>
/// <param name="TestAccuracy">Test accuracy after the epoch (0..1).</param>
/// <param name="Seconds">Wall time of the epoch's training pass (evaluation excluded).</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
internal sealed record EpochRecord(
    int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds, double ImagesPerSecond);

/// <summary>Everything <c>metrics.json</c> holds about a run. Property names are written in snake_case.</summary>
internal sealed class RunMetrics
{
    /// <summary>Model name as given to --model, e.g. "lenet5".</summary>
    public required string Model { get; init; }

    /// <summary>Backend name, e.g. "CPU" or "CUDA: NVIDIA H100 80GB HBM3".</summary>
    public required string Device { get; init; }

    /// <summary>Why this device was chosen.</summary>
    public required string DeviceReason { get; init; }

    /// <summary>Trainable parameter count.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>Seed of initialization, shuffling and dropout.</summary>
    public required ulong Seed { get; init; }

    /// <summary>Optimizer name (sgd, adam, adamw).</summary>
    public required string Optimizer { get; init; }

    /// <summary>Learning rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Mini-batch size.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Where the data came from (directory, or the embedded sample).</summary>
    public required string Dataset { get; init; }

    /// <summary>Number of training images used.</summary>
    public required int TrainImages { get; init; }

    /// <summary>Number of test images.</summary>
    public required int TestImages { get; init; }

    /// <summary>Whether cuBLAS was allowed to use TF32 tensor cores.</summary>
    public bool Tf32 { get; init; }

    /// <summary>Epochs requested.</summary>
    public required int EpochsRequested { get; init; }

    /// <summary>1-based epoch with the best test accuracy (0 before the first epoch).</summary>
    public int BestEpoch => Epochs.Count == 0 ? 0 : Epochs.MaxBy(e => e.TestAccuracy)!.Epoch;

    /// <summary>Best test accuracy so far.</summary>
    public double BestTestAccuracy => Epochs.Count == 0 ? 0 : Epochs.Max(e => e.TestAccuracy);

    /// <summary>The finished epochs in order.</summary>
    public List<EpochRecord> Epochs { get; init; } = [];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serializes to the documented metrics.json layout.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads the epochs of an earlier metrics.json (used when a run resumes); empty when the file is absent or unreadable.</summary>
    public static List<EpochRecord> ReadEpochs(string path)
    {
        try
        {
            if (!File.Exists(path)) return [];
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (!doc.RootElement.TryGetProperty("epochs", out JsonElement epochs)) return [];
            return epochs.EnumerateArray().Select(e => new EpochRecord(
                e.GetProperty("epoch").GetInt32(),
                e.GetProperty("train_loss").GetDouble(),
                e.GetProperty("train_accuracy").GetDouble(),
                e.GetProperty("test_loss").GetDouble(),
                e.GetProperty("test_accuracy").GetDouble(),
                e.GetProperty("seconds").GetDouble(),
                e.GetProperty("images_per_second").GetDouble())).ToList();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return [];
        }
    }
}
