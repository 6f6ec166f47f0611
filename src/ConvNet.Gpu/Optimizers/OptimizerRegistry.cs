using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// Optimizers by name and from their saved configuration: the one place the CLI, checkpoints and user code turn
/// "adam" or a checkpoint's optimizer JSON into an <see cref="Optimizer"/>.
/// </summary>
public static class OptimizerRegistry
{
    /// <summary>The preset names <see cref="Create"/> takes, default first: "adam", "sgd", "adamw".</summary>
    public static IReadOnlyList<string> Names { get; } = ["adam", "sgd", "adamw"];

    /// <summary>
    /// The preset called <paramref name="name"/> with <paramref name="learningRate"/>: "adam" is <see cref="Adam"/> with
    /// its defaults, "adamw" is <see cref="AdamW"/> (weight decay 0.01), and "sgd" is <see cref="Sgd"/> with momentum 0.9
    /// (the usual setting for CNNs; <c>new Sgd(lr)</c> has none).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The name is unknown (the message lists the valid ones) or the rate is invalid.</exception>
    public static Optimizer Create(string name, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "adam" => new Adam(learningRate),
            "sgd" => new Sgd(learningRate, momentum: 0.9f),
            "adamw" => new AdamW(learningRate),
            _ => throw new ConvNetArgumentException($"Unknown optimizer '{name}'. Valid optimizers: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>A learning rate that works for the preset on the ready-made models: 0.05 for "sgd", 0.001 otherwise.</summary>
    public static double DefaultLearningRate(string name) => name == "sgd" ? 0.05 : 1e-3;

    /// <summary>
    /// Rebuilds an optimizer from <see cref="Optimizer.GetConfig"/> output (the "optimizer" entry of a training
    /// checkpoint); missing hyper-parameters take the constructor defaults. State and step count are restored separately.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The configuration is not an object, has no known "type", or a value is not a number.</exception>
    public static Optimizer FromConfig(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string type = config["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s
            : throw new ConvNetArgumentException($"Optimizer configuration has no \"type\": {config.ToJsonString()}.", nameof(config));
        float F(string key, float fallback)
        {
            if (config[key] is null) return fallback;
            if (config[key] is JsonValue v)
            {
                if (v.TryGetValue<double>(out double d)) return (float)d;
                if (v.TryGetValue<float>(out float f)) return f;
            }
            throw new ConvNetArgumentException($"Optimizer configuration: '{key}' must be a number, found {config[key]!.ToJsonString()}.", nameof(config));
        }
        bool B(string key) => config[key] is JsonValue v && v.TryGetValue<bool>(out bool b) && b;
        float lr = F("learning_rate", 1e-3f);
        return type switch
        {
            "sgd" => new Sgd(lr, F("momentum", 0f), B("nesterov"), F("weight_decay", 0f)),
            "adam" => new Adam(lr, F("beta1", 0.9f), F("beta2", 0.999f), F("epsilon", 1e-8f), F("weight_decay", 0f)),
            "adamw" => new AdamW(lr, F("beta1", 0.9f), F("beta2", 0.999f), F("epsilon", 1e-8f), F("weight_decay", 0.01f)),
            _ => throw new ConvNetArgumentException($"Unknown optimizer type '{type}' in the configuration; known types are sgd, adam, adamw.", nameof(config)),
        };
    }

    /// <summary>Rebuilds an optimizer from the JSON text of <see cref="Optimizer.GetConfig"/>.</summary>
    /// <exception cref="ConvNetArgumentException">The text is not valid JSON or not a valid configuration.</exception>
    public static Optimizer FromConfig(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return FromConfig(JsonNode.Parse(json) as JsonObject
                ?? throw new ConvNetArgumentException("Optimizer configuration: the JSON is not an object.", nameof(json)));
        }
        catch (JsonException e)
        {
            throw new ConvNetArgumentException($"Optimizer configuration: invalid JSON ({e.Message}).", nameof(json));
        }
    }
}
