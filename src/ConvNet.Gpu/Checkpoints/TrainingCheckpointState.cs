using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Optimizers;
using static ConvNet.Gpu.Checkpoints.ModelCheckpoint;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Where a training run stands, as a training checkpoint records it next to the weights and the optimizer state.
/// </summary>
/// <param name="Epoch">The current epoch (0-based).</param>
/// <param name="Batch">Batches already completed in that epoch.</param>
/// <param name="GlobalStep">Batches completed since training started (at least <paramref name="Batch"/>).</param>
/// <param name="BatchSize">Batch size the position counts in (>= 1); null when not recorded.</param>
/// <param name="DataSeed">The data-order seed in use; null when none was fixed yet.</param>
/// <param name="DivergenceStartLoss">The divergence policy's reference: the loss of the run's first batch (> 0), or null.</param>
/// <param name="DivergenceBestEpochAccuracy">The divergence policy's reference: the best epoch training accuracy (0 to 1), or null.</param>
public sealed record TrainingState(int Epoch, int Batch, long GlobalStep, int? BatchSize = null, ulong? DataSeed = null,
    double? DivergenceStartLoss = null, double? DivergenceBestEpochAccuracy = null);

/// <summary>
/// The training fields of a training checkpoint, parsed and range-checked: where the run stands, its batch size and
/// data seed and the divergence references (<see cref="State"/>), and the optimizer's configuration, step count and
/// current rate.
/// </summary>
/// <param name="State">Position, batch size, data seed and divergence references.</param>
/// <param name="OptimizerConfiguration">The optimizer's configuration, already checked by <see cref="OptimizerConfig.Create"/>.</param>
/// <param name="OptimizerSteps">Updates the optimizer has made (>= 0).</param>
/// <param name="LearningRate">The rate of the next step (finite, >= 0).</param>
public sealed record TrainingCheckpointState(TrainingState State, JsonObject OptimizerConfiguration, int OptimizerSteps, float LearningRate)
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

        var (start, best) = m.ContainsKey(DivergenceKey) ? ReadDivergence(Json(m, DivergenceKey, path), path) : (null, null);
        return new TrainingCheckpointState(new TrainingState(epoch, batch, step, batchSize, seed, start, best), optimizer, optimizerSteps, lr);
    }

    /// <summary>Writes <paramref name="state"/>'s fields as the metadata entries <see cref="Read"/> parses.</summary>
    internal static void Write(TrainingState state, IDictionary<string, string> m)
    {
        m[EpochKey] = Format(state.Epoch);
        m[BatchKey] = Format(state.Batch);
        m[GlobalStepKey] = Format(state.GlobalStep);
        if (state.BatchSize is int batchSize) m[BatchSizeKey] = Format(batchSize);
        if (state.DataSeed is ulong seed) m[DataSeedKey] = seed.ToString(CultureInfo.InvariantCulture);
        if (state.DivergenceStartLoss is not null || state.DivergenceBestEpochAccuracy is not null)
            m[DivergenceKey] = new JsonObject { ["start_loss"] = state.DivergenceStartLoss, ["best_epoch_accuracy"] = state.DivergenceBestEpochAccuracy }.ToJsonString();
    }

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static (double? Start, double? Best) ReadDivergence(JsonObject o, string path)
    {
        foreach (var (key, _) in o)
            if (key is not ("start_loss" or "best_epoch_accuracy"))
                throw Fail(path, $"metadata '{DivergenceKey}' has an unknown field '{CheckpointMetadata.Shorten(key)}'");
        return (OptionalNumber(o, "start_loss", path, 0, double.MaxValue), OptionalNumber(o, "best_epoch_accuracy", path, 0, 1));
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
