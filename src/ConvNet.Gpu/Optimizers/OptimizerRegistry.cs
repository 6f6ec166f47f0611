namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// Optimizers by preset name: the one place the CLI, the benchmarks and user code turn "adam" into an
/// <see cref="Optimizer"/>. A checkpoint's saved configuration is rebuilt by <see cref="OptimizerConfig.Create"/>.
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
}
