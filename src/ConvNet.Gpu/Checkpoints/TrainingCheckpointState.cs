using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using static ConvNet.Gpu.Checkpoints.ModelCheckpoint;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// The training fields of a training checkpoint, parsed and range-checked: where the run stands, its batch size and
/// data seed, the optimizer's configuration, step count and current rate, and the divergence references.
/// </summary>
/// <param name="Position">Next batch to run (epoch and batch are >= 0; the global step is at least the batch).</param>
/// <param name="BatchSize">Batch size the position counts in (>= 1); null when the file does not record it.</param>
/// <param name="DataSeed">Seed of the data order; null when not recorded.</param>
/// <param name="OptimizerConfiguration">The optimizer's configuration, already checked by <see cref="OptimizerConfig.Create"/>.</param>
/// <param name="OptimizerSteps">Updates the optimizer has made (>= 0).</param>
/// <param name="LearningRate">The rate of the next step (finite, >= 0).</param>
/// <param name="Divergence">The divergence references (start loss > 0, best accuracy in [0, 1]).</param>
public sealed record TrainingCheckpointState(TrainingPosition Position, int? BatchSize, ulong? DataSeed, JsonObject OptimizerConfiguration,
    int OptimizerSteps, float LearningRate, DivergenceReference Divergence)
{
    /// <summary>The optimizer's type name, e.g. "adam".</summary>
    public string OptimizerType => OptimizerConfiguration["type"]!.GetValue<string>();

    /// <summary>A fresh optimizer built from <see cref="OptimizerConfiguration"/> (no state yet).</summary>
    public Optimizer CreateOptimizer() => OptimizerConfig.Create(OptimizerConfiguration);

    // Written by convnet before the library recorded the batch size (checkpoint metadata version 0).
    private const string LegacyBatchSizeKey = "cli.batch_size";

    /// <summary>Parses and checks every training field of <paramref name="content"/>; the first problem names its field.</summary>
    internal static TrainingCheckpointState Read(CheckpointContent content, string path)
    {
        var m = content.Metadata;
        int epoch = Int(m, EpochKey, path, 0);
        int batch = Int(m, BatchKey, path, 0);
        long step = Long(m, GlobalStepKey, path);
        if (step < batch)
            throw Fail(path, $"metadata '{GlobalStepKey}' is {step}, fewer than the {batch} batches already run in the current epoch");
        int? batchSize = m.ContainsKey(BatchSizeKey) ? Int(m, BatchSizeKey, path, 1)
            : m.ContainsKey(LegacyBatchSizeKey) ? Int(m, LegacyBatchSizeKey, path, 1) : null;
        ulong? seed = m.TryGetValue(DataSeedKey, out string? s)
            ? ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v
                : throw Fail(path, $"metadata '{DataSeedKey}' must be a whole number from 0 to {ulong.MaxValue}, found '{CheckpointMetadata.Shorten(s)}'")
            : null;

        JsonObject optimizer = Json(m, OptimizerKey, path);
        try
        {
            using var probe = OptimizerConfig.Create(optimizer);
        }
        catch (ConvNetArgumentException e)
        {
            throw Fail(path, $"metadata '{OptimizerKey}' is invalid: {e.Message}");
        }
        int optimizerSteps = Int(m, OptimizerStepsKey, path, 0);
        string lrText = Meta(m, LearningRateKey, path);
        if (!float.TryParse(lrText, NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) || !float.IsFinite(lr) || lr < 0)
            throw Fail(path, $"metadata '{LearningRateKey}' must be a finite number >= 0, found '{CheckpointMetadata.Shorten(lrText)}'");

        var divergence = m.ContainsKey(DivergenceKey) ? ReadDivergence(Json(m, DivergenceKey, path), path) : default;
        return new TrainingCheckpointState(new TrainingPosition(epoch, batch, step), batchSize, seed, optimizer, optimizerSteps, lr, divergence);
    }

    private static DivergenceReference ReadDivergence(JsonObject o, string path)
    {
        foreach (var (key, _) in o)
            if (key is not ("start_loss" or "best_epoch_accuracy"))
                throw Fail(path, $"metadata '{DivergenceKey}' has an unknown field '{CheckpointMetadata.Shorten(key)}'");
        double? start = OptionalNumber(o, "start_loss", path, 0, double.MaxValue);
        double? best = OptionalNumber(o, "best_epoch_accuracy", path, 0, 1);
        return new DivergenceReference(start, best);
    }

    private static double? OptionalNumber(JsonObject o, string key, string path, double min, double max)
    {
        if (o[key] is null) return null;
        if (o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d) && d >= min && d <= max) return d;
        throw Fail(path, FormattableString.Invariant($"metadata '{DivergenceKey}' field '{key}' must be a number from {min} to {max:G3}, found {o[key]!.ToJsonString()}"));
    }

    private static JsonObject Json(IDictionary<string, string> m, string key, string path)
    {
        string text = Meta(m, key, path);
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw Fail(path, $"metadata '{key}' is not a JSON object: '{CheckpointMetadata.Shorten(text)}'");
        }
        catch (JsonException)
        {
            throw Fail(path, $"metadata '{key}' is not valid JSON: '{CheckpointMetadata.Shorten(text)}'");
        }
    }

    private static int Int(IDictionary<string, string> m, string key, string path, int minimum)
    {
        string text = Meta(m, key, path);
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= minimum ? v
            : throw Fail(path, $"metadata '{key}' must be a whole number from {minimum} to {int.MaxValue}, found '{CheckpointMetadata.Shorten(text)}'");
    }

    private static long Long(IDictionary<string, string> m, string key, string path)
    {
        string text = Meta(m, key, path);
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) && v >= 0 ? v
            : throw Fail(path, $"metadata '{key}' must be a whole number from 0 to {long.MaxValue}, found '{CheckpointMetadata.Shorten(text)}'");
    }

    private static string Meta(IDictionary<string, string> m, string key, string path) =>
        m.TryGetValue(key, out string? v) ? v : throw Fail(path, $"metadata '{key}' is missing");

    private static CheckpointFormatException Fail(string path, string problem) => new(path, problem);
}
