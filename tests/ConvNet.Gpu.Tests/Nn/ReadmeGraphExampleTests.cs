using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>The README's graph-model example, as written there (synthetic data in place of Fashion-MNIST), compiles and runs.</summary>
public sealed class ReadmeGraphExampleTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-readme-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TheReadmeGraphExampleRuns()
    {
        Directory.CreateDirectory(_dir);
        using var backend = Backend.Cpu(2);
        var train = SyntheticData.Squares(64, 1, size: 28);

        var image = Model.Input((1, 28, 28), "image");
        var stem = new ReLU().Call(new Conv2D(16, kernelSize: 3, padding: 1, name: "stem").Call(image));
        var body = new ReLU().Call(new Conv2D(16, kernelSize: 3, padding: 1).Call(stem));
        var joined = new Concat().Call(new Add().Call(body, stem), stem);   // a residual sum, then a skip concatenation
        var logits = new Dense(10).Call(new GlobalAvgPool2D().Call(joined));
        using var graph = new Model(backend, image, logits);                // checks the graph, builds every layer
        Console.WriteLine(graph.Summary());                                 // every call with the tensors it reads
        graph.Layers.Single(l => l.Name == "stem").Trainable = false;       // frozen: no gradient, no optimizer state
        using var graphTrainer = new Trainer(graph, new Adam(1e-3f));
        graphTrainer.Fit(train, new TrainingOptions { Epochs = 3, BatchSize = 64 });
        graph.Save(Path.Combine(_dir, "graph.ckpt"));
        using var graphCopy = Model.Load(Path.Combine(_dir, "graph.ckpt"), Backend.Cpu());

        Assert.Equal(graph.Parameters.Count, graphTrainer.Optimizer.State.Count);
        Assert.Equal(graph.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()), graphCopy.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()));
        Assert.Equal(["relu_2", "relu_1"], graph.Summary()["add_1"].Inputs);
    }
}
