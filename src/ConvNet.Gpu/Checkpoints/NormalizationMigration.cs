using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Reads checkpoints written before the input normalization moved into the model (metadata versions 0 and 1, which
/// record it as <see cref="CheckpointMetadata.InputNormalization"/> and apply it outside the model) as the model they
/// stand for: a <see cref="Sequential"/> model gets a <see cref="Normalize"/> layer with the recorded mean and std in
/// front of its first layer, its saved tensors move one layer up (keys "i:name/..." become "i+1:name/..."), and the
/// metadata then records no normalization outside the model (<see cref="Normalization.Identity"/>). A file that records
/// none, or the identity, needs nothing. A graph model cannot be migrated and is refused with a message that says so:
/// a checkpoint is never read with its normalization dropped.
/// </summary>
internal static class NormalizationMigration
{
    /// <summary>The name of the layer a migration inserts.</summary>
    public const string LayerName = "input_normalization";

    /// <summary>Migrates <paramref name="content"/> in place when its metadata asks for it; returns the metadata to use.</summary>
    /// <exception cref="CheckpointFormatException">The file needs a migration its architecture does not allow.</exception>
    public static CheckpointMetadata Apply(CheckpointContent content, JsonObject architecture, CheckpointMetadata metadata, string path)
    {
        if (metadata.Version >= 2 || metadata.InputNormalization is not { } n || n.Equals(Normalization.Identity)) return metadata;
        string normalization = FormattableString.Invariant($"(x - {n.Mean:R}) / {n.Std:R}");
        if (architecture["format"]?.GetValue<string>() != Sequential.ArchitectureFormat)
            throw new CheckpointFormatException(path,
                $"it was written before the input normalization moved into the model (metadata version {metadata.Version}) and applies {normalization} " +
                "outside a graph model, which this version cannot rebuild with a Normalize layer in front; load it with the version that wrote it, " +
                "or retrain (the model then carries a Normalize layer)");
        var layers = (JsonArray)architecture["layers"]!;
        if (layers.OfType<JsonObject>().Any(l => l["name"]?.GetValue<string>() == LayerName))
            throw new CheckpointFormatException(path, $"it records the input normalization {normalization} and already has a layer named '{LayerName}'");
        layers.Insert(0, new Normalize([n.Mean], [n.Std], LayerName).GetConfig());

        var moved = new List<(string Old, string New)>();
        foreach (var key in content.Tensors.Keys)
        {
            int prefix = key.IndexOf(':', StringComparison.Ordinal) + 1; // "param:", "state:", "optim:"
            int colon = key.IndexOf(':', prefix);
            if (prefix == 0 || colon < 0 || !int.TryParse(key.AsSpan(prefix, colon - prefix), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new CheckpointFormatException(path, $"tensor '{CheckpointMetadata.Shorten(key)}' has no layer index to move past the inserted Normalize layer");
            moved.Add((key, string.Concat(key.AsSpan(0, prefix), (index + 1).ToString(CultureInfo.InvariantCulture), key.AsSpan(colon))));
        }
        var tensors = moved.Select(m => (m.New, content.Tensors[m.Old])).ToList();
        content.Tensors.Clear();
        foreach (var (key, tensor) in tensors) content.Tensors[key] = tensor;
        content.Metadata[ModelCheckpoint.ArchitectureKey] = architecture.ToJsonString();
        return metadata with { InputNormalization = Normalization.Identity, MigratedNormalization = n };
    }
}
