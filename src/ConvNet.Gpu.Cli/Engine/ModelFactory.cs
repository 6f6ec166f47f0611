using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Builds the library's ready-made models (<see cref="Models"/>) by their --model name.</summary>
internal static class ModelFactory
{
    /// <summary>Builds <paramref name="name"/> for 28x28 single-channel samples and <paramref name="classes"/> classes.</summary>
    public static Sequential Build(string name, IBackend backend, TensorShape sampleShape, int classes, ulong seed)
    {
        if (!sampleShape.SameDimensions(new TensorShape([1, 28, 28], ["C", "H", "W"])))
            throw CliException.DataError($"the ready-made models take 1x28x28 images, but the data's images are {sampleShape}.");
        return name switch
        {
            ModelNames.LeNet5 => Models.LeNet5(backend, classes, seed),
            ModelNames.LeNet5Classic => Models.LeNet5Classic(backend, classes, seed),
            ModelNames.VggSmall => Models.VggSmall(backend, classes, seed),
            ModelNames.ResNetSmall => Models.ResNetSmall(backend, classes, seed),
            _ => throw CliException.UsageError($"unknown model '{name}'. Valid models: {string.Join(", ", ModelNames.All)}."),
        };
    }
}
