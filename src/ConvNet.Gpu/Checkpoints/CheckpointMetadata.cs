using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// What a checkpoint says about its run besides tensors: the ready-made model's name, the input normalization the
/// weights expect, and free application entries. It is written in the same single atomic write as the weights
/// (<see cref="ModelCheckpoint.Save"/>, <see cref="TrainingCheckpoint.Save"/>), so a file never holds weights
/// without the metadata that was meant to go with them.
/// </summary>
/// <remarks>
/// <para>Stored as metadata entries: <c>metadata_version</c>, <c>model</c>, <c>input_normalization</c>
/// (<c>{"mean":m,"std":s}</c>; mean 0 and std 1 means "none") and <c>app.&lt;key&gt;</c> for each of <see cref="Entries"/>.</para>
/// <para>Versions: 0 is a file written before this bag existed (the CLI's <c>cli.*</c> entries are read as the same
/// fields when present); 1 added the bag; 2 (this layout) is the one where the input normalization lives in the model
/// as a <see cref="Nn.Normalize"/> layer, so <c>input_normalization</c> only records a normalization a library caller
/// still applies outside the model (<see cref="Training.TrainingOptions.Normalization"/>), and its absence means none.
/// Reading a version 0 or 1 file that records a normalization migrates it: the model gets the Normalize layer with
/// that mean and std, and <see cref="InputNormalization"/> becomes the identity (<see cref="MigratedNormalization"/>
/// says what moved); a graph model, which cannot be migrated, is refused. A reader refuses a version newer than it
/// knows with a <see cref="CheckpointFormatException"/>, so a file is never read with the wrong meaning.</para>
/// <para>A field that is null was not recorded. Readers that need it (evaluating or resuming on normalized inputs)
/// must refuse the file rather than guess: see <see cref="RequireInputNormalization"/>.</para>
/// </remarks>
public sealed record CheckpointMetadata
{
    /// <summary>The layout version this build writes, and the newest it reads.</summary>
    public const int CurrentVersion = 2;

    /// <summary>Longest <see cref="Model"/> name and entry key accepted, in characters.</summary>
    public const int MaxNameLength = 128;

    internal const string VersionKey = "metadata_version", ModelKey = "model", NormalizationKey = "input_normalization", EntryPrefix = "app.";

    // Written by convnet before the bag existed (version 0); read, never written.
    private const string LegacyModel = "cli.model", LegacyMean = "cli.normalization_mean", LegacyStd = "cli.normalization_std";

    /// <summary>The layout version the metadata was read from (<see cref="CurrentVersion"/> for a new bag).</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The name of the ready-made model (e.g. "lenet5"), or null for a custom one or when not recorded.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// The normalization applied to every input during training; inference must apply the same. Null when not recorded.
    /// <see cref="Normalization.Identity"/> when the inputs were used as they are.
    /// </summary>
    public Normalization? InputNormalization { get; init; }

    /// <summary>
    /// The normalization a version 0 or 1 file applied outside the model, which reading it moved into a Normalize layer
    /// in front of the model (null when nothing was migrated). Never written.
    /// </summary>
    public Normalization? MigratedNormalization { get; init; }

    /// <summary>Application entries (keys: letters, digits, '.', '_', '-'), stored under "app.&lt;key&gt;".</summary>
    public IReadOnlyDictionary<string, string> Entries { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The normalization, or a <see cref="CheckpointFormatException"/> naming <paramref name="path"/> when the file does not
    /// record one (for example a file written by a run killed between two writes by an older version): evaluating or
    /// resuming it would silently use the wrong inputs.
    /// </summary>
    public Normalization RequireInputNormalization(string path) => InputNormalization ?? (Version >= 2 ? Normalization.Identity : throw new CheckpointFormatException(path,
        "it does not record the input normalization its weights were trained with, so it cannot be evaluated or resumed " +
        "without guessing (mean 0 and std 1 would give wrong results); use a checkpoint written completely by this version"));

    /// <summary>Checks the fields before anything is written.</summary>
    /// <exception cref="ConvNetArgumentException">The model name or an entry key is empty, too long or has other characters, or a value is null.</exception>
    public void Validate()
    {
        if (Version != CurrentVersion)
            throw new ConvNetArgumentException($"Checkpoint metadata version {Version} cannot be written; this build writes version {CurrentVersion}.");
        if (Model is not null && !IsName(Model))
            throw new ConvNetArgumentException($"Checkpoint metadata: the model name '{Model}' must be 1-{MaxNameLength} letters, digits, '.', '_' or '-'.");
        foreach (var (key, value) in Entries)
        {
            if (!IsName(key))
                throw new ConvNetArgumentException($"Checkpoint metadata: the entry key '{key}' must be 1-{MaxNameLength} letters, digits, '.', '_' or '-'.");
            if (value is null) throw new ConvNetArgumentException($"Checkpoint metadata: the entry '{key}' is null.");
        }
    }

    /// <summary>Adds the bag's entries to <paramref name="content"/> (after <see cref="Validate"/>).</summary>
    internal void WriteTo(CheckpointContent content)
    {
        Validate();
        var m = content.Metadata;
        m[VersionKey] = CurrentVersion.ToString(CultureInfo.InvariantCulture);
        if (Model is not null) m[ModelKey] = Model;
        if (InputNormalization is { } n)
            m[NormalizationKey] = new JsonObject { ["mean"] = n.Mean, ["std"] = n.Std }.ToJsonString();
        foreach (var (key, value) in Entries) m[EntryPrefix + key] = value;
    }

    /// <summary>Reads and validates the bag from a checkpoint's entries; any malformed field names itself.</summary>
    /// <exception cref="CheckpointFormatException">A field is malformed, or the version is newer than this build reads.</exception>
    public static CheckpointMetadata Read(CheckpointContent content, string path)
    {
        ArgumentNullException.ThrowIfNull(content);
        var m = content.Metadata;
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in m)
            if (key.StartsWith(EntryPrefix, StringComparison.Ordinal)) entries[key[EntryPrefix.Length..]] = value;

        if (!m.TryGetValue(VersionKey, out string? versionText))
            return ReadLegacy(m, path, entries);
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1)
            throw new CheckpointFormatException(path, $"metadata '{VersionKey}' must be a whole number >= 1, found '{Shorten(versionText)}'");
        if (version > CurrentVersion)
            throw new CheckpointFormatException(path, $"its metadata layout is version {version}, newer than this build reads ({CurrentVersion}); " +
                "it was written by a newer ConvNet.Gpu whose fields this build could misread");

        string? model = m.TryGetValue(ModelKey, out string? name) ? name : null;
        if (model is not null && !IsName(model))
            throw new CheckpointFormatException(path, $"metadata '{ModelKey}' must be 1-{MaxNameLength} letters, digits, '.', '_' or '-', found '{Shorten(model)}'");
        Normalization? normalization = m.TryGetValue(NormalizationKey, out string? json) ? ParseNormalization(json, path) : null;
        return new CheckpointMetadata { Version = version, Model = model, InputNormalization = normalization, Entries = entries };
    }

    private static CheckpointMetadata ReadLegacy(IDictionary<string, string> m, string path, Dictionary<string, string> entries)
    {
        Normalization? normalization = null;
        bool hasMean = m.TryGetValue(LegacyMean, out string? mean), hasStd = m.TryGetValue(LegacyStd, out string? std);
        if (hasMean && hasStd)
            normalization = MakeNormalization(ParseFloat(mean!, LegacyMean, path), ParseFloat(std!, LegacyStd, path), path, LegacyMean);
        string? model = m.TryGetValue(LegacyModel, out string? name) && IsName(name) ? name : null;
        return new CheckpointMetadata { Version = 0, Model = model, InputNormalization = normalization, Entries = entries };
    }

    private static Normalization ParseNormalization(string json, string path)
    {
        JsonObject? o;
        try
        {
            o = JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
            o = null;
        }
        if (o is null || o.Count != 2 || o["mean"] is not JsonValue mean || o["std"] is not JsonValue std
            || !mean.TryGetValue(out float meanValue) || !std.TryGetValue(out float stdValue))
            throw new CheckpointFormatException(path, $"metadata '{NormalizationKey}' must be {{\"mean\": number, \"std\": number}}, found '{Shorten(json)}'");
        return MakeNormalization(meanValue, stdValue, path, NormalizationKey);
    }

    private static Normalization MakeNormalization(float mean, float std, string path, string key)
    {
        if (!float.IsFinite(mean) || !float.IsFinite(std) || !(std > 0))
            throw new CheckpointFormatException(path, FormattableString.Invariant(
                $"metadata '{key}' needs a finite mean and a finite positive std, found mean {mean} and std {std}"));
        return new Normalization(mean, std);
    }

    private static float ParseFloat(string text, string key, string path) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v
            : throw new CheckpointFormatException(path, $"metadata '{key}' is not a number: '{Shorten(text)}'");

    private static bool IsName(string text) =>
        text.Length is > 0 and <= MaxNameLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>At most 60 characters of a stored value, for one-line messages.</summary>
    internal static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
