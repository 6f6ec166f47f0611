using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Rebuilds layers from the JSON written by <see cref="Layer.GetConfig"/>, so a model can be restored from a
/// checkpoint alone. Unknown types fail with a message listing the known ones.
/// </summary>
public static class LayerRegistry
{
    private static readonly Dictionary<string, Func<JsonObject, Layer>> Factories = new(StringComparer.Ordinal)
    {
        ["Conv2D"] = Conv2D.FromConfig,
        ["ConvTranspose2D"] = ConvTranspose2D.FromConfig,
        ["MaxPool2D"] = MaxPool2D.FromConfig,
        ["AvgPool2D"] = AvgPool2D.FromConfig,
        ["GlobalAvgPool2D"] = c => new GlobalAvgPool2D(c.GetOptionalString("name")),
        ["Upsample2D"] = Upsample2D.FromConfig,
        ["Dense"] = Dense.FromConfig,
        ["Flatten"] = c => new Flatten(c.GetOptionalString("name")),
        ["Dropout"] = Dropout.FromConfig,
        ["ReLU"] = c => new ReLU(c.GetOptionalString("name")),
        ["LeakyReLU"] = c => new LeakyReLU(c.GetFloat("alpha"), c.GetOptionalString("name")),
        ["ELU"] = c => new ELU(c.GetFloat("alpha"), c.GetOptionalString("name")),
        ["Sigmoid"] = c => new Sigmoid(c.GetOptionalString("name")),
        ["Tanh"] = c => new Tanh(c.GetOptionalString("name")),
        ["Softmax"] = c => new Softmax(c.GetOptionalString("name")),
        ["BatchNorm2D"] = BatchNorm2D.FromConfig,
        ["Residual"] = Residual.FromConfig,
        ["Subsampling2D"] = Subsampling2D.FromConfig,
        ["Add"] = c => new Add(c.GetOptionalString("name")),
        ["Concat"] = c => new Concat(c.GetOptionalString("name")),
    };

    /// <summary>The layer types that can be restored.</summary>
    public static IReadOnlyCollection<string> KnownTypes => Factories.Keys;

    /// <summary>Creates an unbuilt layer from its configuration.</summary>
    public static Layer Create(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string type = config["type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t
            : throw new ConvNetArgumentException($"Architecture: a layer entry has no \"type\": {config.ToJsonString()}.");
        if (!Factories.TryGetValue(type, out var factory))
            throw new ConvNetArgumentException(
                $"Architecture: unknown layer type '{type}'; known types are {string.Join(", ", Factories.Keys)}.");
        return factory(config);
    }
}
