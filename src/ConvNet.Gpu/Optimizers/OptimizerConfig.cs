using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// Rebuilds an optimizer from the JSON its <see cref="Optimizer.GetConfig"/> wrote (as stored in training checkpoints),
/// strictly: the type must be one of <see cref="KnownTypes"/>, every field of that type must be present with the
/// right JSON type (numbers as numbers, not strings), no other field may appear, and the values must pass the
/// optimizer's own range checks. Nothing is allocated: optimizer state comes with the first step or a restore.
/// </summary>
public static class OptimizerConfig
{
    /// <summary>The optimizer types a configuration may name.</summary>
    public static IReadOnlyList<string> KnownTypes { get; } = ["sgd", "adam", "adamw"];

    private static readonly string[] SgdFields = ["type", "learning_rate", "momentum", "nesterov", "weight_decay"];
    private static readonly string[] AdamFields = ["type", "learning_rate", "beta1", "beta2", "epsilon", "weight_decay"];

    /// <summary>Creates the optimizer <paramref name="config"/> describes.</summary>
    /// <exception cref="ConvNetArgumentException">The configuration is malformed; the message names the field and what was found.</exception>
    public static Optimizer Create(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string type = config["type"] is JsonValue t && t.TryGetValue(out string? name) ? name
            : throw new ConvNetArgumentException($"Optimizer configuration: \"type\" must be a string, found {Show(config["type"])}.");
        string[] fields = type switch
        {
            "sgd" => SgdFields,
            "adam" or "adamw" => AdamFields,
            _ => throw new ConvNetArgumentException($"Optimizer configuration: unknown type '{Shorten(type)}'; known types are {string.Join(", ", KnownTypes)}."),
        };
        foreach (var (key, _) in config)
            if (Array.IndexOf(fields, key) < 0)
                throw new ConvNetArgumentException($"Optimizer configuration: '{type}' has no field '{Shorten(key)}' (its fields are {string.Join(", ", fields[1..])}).");
        float lr = Number(config, "learning_rate");
        return type switch
        {
            "sgd" => new Sgd(lr, Number(config, "momentum"), Bool(config, "nesterov"), Number(config, "weight_decay")),
            "adam" => new Adam(lr, Number(config, "beta1"), Number(config, "beta2"), Number(config, "epsilon"), Number(config, "weight_decay")),
            _ => new AdamW(lr, Number(config, "beta1"), Number(config, "beta2"), Number(config, "epsilon"), Number(config, "weight_decay")),
        };
    }

    private static float Number(JsonObject config, string key)
    {
        // A JSON number that fits float32; strings, booleans, null and overflowing values are refused.
        // (A parsed file holds JSON numbers; a configuration built in code may hold float or double values.)
        if (config[key] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            && (v.TryGetValue(out double d) || (v.TryGetValue(out float f) && (d = f) == f))
            && double.IsFinite(d) && Math.Abs(d) <= float.MaxValue)
            return (float)d;
        throw new ConvNetArgumentException($"Optimizer configuration: \"{key}\" must be a finite number, found {Show(config[key])}.");
    }

    private static bool Bool(JsonObject config, string key) =>
        config[key] is JsonValue v && v.TryGetValue(out bool b) ? b
            : throw new ConvNetArgumentException($"Optimizer configuration: \"{key}\" must be true or false, found {Show(config[key])}.");

    private static string Show(JsonNode? node) => node is null ? "nothing" : Shorten(node.ToJsonString());

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
