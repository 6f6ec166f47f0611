using System.Globalization;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// The run settings a checkpoint carries next to the weights, so that another program can rebuild the run from the file
/// alone: the registry name of the model, the input normalization, the batch size and the seed. Each is optional. The
/// keys ("run.model", "run.batch_size", "run.seed", "run.normalization_mean", "run.normalization_std") are owned here;
/// <see cref="Read(IReadOnlyDictionary{string, string})"/> also reads the "cli.*" keys that earlier versions of the
/// <c>convnet</c> tool wrote.
/// </summary>
/// <param name="ModelName">The model's name in <c>ModelRegistry</c>, or null for a custom model.</param>
/// <param name="Normalization">The normalization applied to inputs in training and evaluation, or null for none.</param>
/// <param name="BatchSize">The training batch size, or null.</param>
/// <param name="Seed">The seed of initialization and data order, or null.</param>
public sealed record RunMetadata(string? ModelName, Normalization? Normalization, int? BatchSize, ulong? Seed)
{
    /// <summary>Key of <see cref="ModelName"/>.</summary>
    public const string ModelKey = "run.model";

    /// <summary>Key of <see cref="BatchSize"/>.</summary>
    public const string BatchSizeKey = "run.batch_size";

    /// <summary>Key of <see cref="Seed"/>.</summary>
    public const string SeedKey = "run.seed";

    /// <summary>Key of the normalization mean.</summary>
    public const string MeanKey = "run.normalization_mean";

    /// <summary>Key of the normalization standard deviation.</summary>
    public const string StdKey = "run.normalization_std";

    /// <summary>The entries to store (only the settings that are set), as <c>TrainingCheckpoint.Save</c> takes them.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ModelName is not null) m[ModelKey] = ModelName;
        if (BatchSize is int b) m[BatchSizeKey] = b.ToString(CultureInfo.InvariantCulture);
        if (Seed is ulong s) m[SeedKey] = s.ToString(CultureInfo.InvariantCulture);
        if (Normalization is not null)
        {
            m[MeanKey] = Normalization.Mean.ToString("R", CultureInfo.InvariantCulture);
            m[StdKey] = Normalization.Std.ToString("R", CultureInfo.InvariantCulture);
        }
        return m;
    }

    /// <summary>The settings found in a checkpoint's metadata (absent ones are null).</summary>
    /// <exception cref="FormatException">An entry is present but not a number of the right kind.</exception>
    public static RunMetadata Read(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string? Get(string key) =>
            metadata.TryGetValue(key, out var v) ? v
            : metadata.TryGetValue(string.Concat("cli.", key.AsSpan("run.".Length)), out var legacy) ? legacy : null;
        string? mean = Get(MeanKey), std = Get(StdKey);
        return new RunMetadata(
            Get(ModelKey),
            mean is null || std is null ? null : new Normalization(float.Parse(mean, CultureInfo.InvariantCulture), float.Parse(std, CultureInfo.InvariantCulture)),
            Get(BatchSizeKey) is string b ? int.Parse(b, CultureInfo.InvariantCulture) : null,
            Get(SeedKey) is string s ? ulong.Parse(s, CultureInfo.InvariantCulture) : null);
    }

    /// <summary>The settings stored in the checkpoint file at <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable checkpoint.</exception>
    public static RunMetadata Read(string path) => Read(CheckpointFile.Read(path).Metadata.AsReadOnly());
}
