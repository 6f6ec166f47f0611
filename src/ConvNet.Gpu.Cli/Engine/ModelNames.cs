using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Optimizers;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>The models --model accepts and the optimizers --optimizer accepts: the library's registries, as the CLI offers them.</summary>
internal static class ModelNames
{
    /// <summary>The default model: the modern LeNet-5.</summary>
    public const string LeNet5 = "lenet5";

    /// <summary>
    /// The classifiers of <see cref="ModelRegistry"/> designed for the 1x28x28 images this tool trains on, in the
    /// registry's order (the default first).
    /// </summary>
    public static IReadOnlyList<string> All { get; } = ModelRegistry.All
        .Where(e => e.Task == ModelTask.Classification && e.DefaultInputShape.SameDimensions(Nn.Shapes.Image(1, 28, 28)))
        .Select(e => e.Name).ToArray();

    /// <summary>Optimizer names, default first (<see cref="OptimizerRegistry.Names"/>).</summary>
    public static IReadOnlyList<string> Optimizers => OptimizerRegistry.Names;

    /// <summary>The default learning rate of each optimizer (<see cref="OptimizerRegistry.DefaultLearningRate"/>).</summary>
    public static double DefaultLearningRate(string optimizer) => OptimizerRegistry.DefaultLearningRate(optimizer);
}
