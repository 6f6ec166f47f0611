using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Builds the ready-made models by their --model name.</summary>
internal static class ModelFactory
{
    /// <summary>Builds <paramref name="name"/> for samples of <paramref name="sampleShape"/> (C, H, W) and <paramref name="classes"/> classes.</summary>
    public static Sequential Build(string name, IBackend backend, TensorShape sampleShape, int classes, ulong seed)
    {
        var input = (sampleShape[0], sampleShape[1], sampleShape[2]);
        var model = new Sequential(backend, input, seed, name);
        try
        {
            switch (name)
            {
                case ModelNames.LeNet5:
                    // Modern LeNet-5: 6 and 16 5x5 convolutions with ReLU and 2x2 max-pooling, then 120-84-10 dense layers.
                    model.Add(new Conv2D(6, 5, padding: 2, name: "conv1"), new ReLU(), new MaxPool2D(2),
                        new Conv2D(16, 5, name: "conv2"), new ReLU(), new MaxPool2D(2),
                        new Flatten(), new Dense(120, name: "fc1"), new ReLU(), new Dense(84, name: "fc2"), new ReLU(), new Dense(classes, name: "fc3"));
                    break;
                default:
                    throw new Infrastructure.CliException(Infrastructure.ExitCodes.Usage, $"model '{name}' is not available in this build yet.");
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
