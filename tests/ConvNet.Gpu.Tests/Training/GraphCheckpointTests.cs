using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Graph models through checkpoints and the trainer: a model with a shared layer, Concat, Add, batch norm and dropout
/// saved and rebuilt from the file alone (on another backend instance) predicts identically, a training checkpoint
/// resumes bit-identically, and weights refuse to load into a differently connected graph.
/// </summary>
public sealed class GraphCheckpointTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-graph-" + Guid.NewGuid().ToString("N"));

    public GraphCheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _b.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static Model Build(IBackend backend, ulong seed = 6)
    {
        var x = Model.Input((1, 8, 8), "image");
        var stem = new ReLU("stem_relu").Call(new BatchNorm2D(name: "stem_bn").Call(new Conv2D(4, 3, padding: 1, name: "stem").Call(x)));
        var shared = new Conv2D(4, 3, padding: 1, name: "shared");
        var a = shared.Call(stem);
        var b = shared.Call(new MaxPool2D(1, name: "identity_pool").Call(stem));
        var merged = new Add("add").Call(a, stem);
        var cat = new Concat("cat").Call(merged, b);
        var drop = new Dropout(0.3f, name: "drop").Call(new GlobalAvgPool2D("gap").Call(cat));
        return new Model(backend, x, new Dense(3, name: "fc").Call(drop), seed, "graph");
    }

    private static TrainingOptions Options(long? maxSteps = null) =>
        new() { UntilEpoch = 3, BatchSize = 16, Seed = 5, MaxSteps = maxSteps, Divergence = DivergencePolicy.NonFiniteOnly };

    [Fact]
    public void AGraphModelSavedAndRebuiltFromTheFileAlonePredictsIdentically()
    {
        string path = Path.Combine(_dir, "graph.ckpt");
        var data = SyntheticData.Squares(32, 3);
        Prediction before;
        using (var model = Build(_b))
        using (var opt = new Adam(0.01f))
        {
            using var trainer = new Trainer(model, opt);
            trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16 }); // moves weights, running statistics, dropout counters
            before = model.Predict(data.Images.Span, 32);
            model.Save(path);
            Assert.True(model.DropoutLayers().Single().Layer.Counter > 0, "the dropout RNG advanced, so restoring it matters");
        }
        using var other = Backend.Cpu(1);
        using var loaded = Model.Load(path, other);
        Assert.Equal(Model.GraphFormat, loaded.GetArchitecture()["format"]!.GetValue<string>());
        var after = loaded.Predict(data.Images.Span, 32);
        Assert.Equal(before.Probabilities, after.Probabilities);
        var e = Assert.Throws<ConvNetArgumentException>(() => Sequential.Load(path, other));
        Assert.Contains("Model.Load", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AGraphTrainingCheckpointResumesBitIdentically()
    {
        var data = SyntheticData.Squares(48, 4); // 3 batches per epoch, 9 steps
        List<float> straight;
        float[] straightWeights;
        using (var model = Build(_b))
        using (var opt = new Sgd(0.05f, momentum: 0.9f))
        using (var trainer = new Trainer(model, opt))
        {
            straight = trainer.Fit(data, Options()).StepLosses;
            straightWeights = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        }
        string path = Path.Combine(_dir, "resume.ckpt");
        List<float> first;
        using (var model = Build(_b))
        using (var opt = new Sgd(0.05f, momentum: 0.9f))
        using (var trainer = new Trainer(model, opt))
        {
            first = trainer.Fit(data, Options(maxSteps: 4)).StepLosses;
            trainer.SaveCheckpoint(path);
        }
        using (var model = Model.Load(path, _b))
        using (var opt = new Sgd(0.05f, momentum: 0.9f))
        using (var trainer = new Trainer(model, opt))
        {
            trainer.RestoreCheckpoint(path);
            Assert.Equal(new TrainingPosition(1, 1, 4), trainer.Position);
            var second = trainer.Fit(data, Options()).StepLosses;
            Assert.Equal(straight, first.Concat(second).ToList());
            Assert.Equal(straightWeights, model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
        }
    }

    [Fact]
    public void WeightsRefuseADifferentlyConnectedGraph()
    {
        string path = Path.Combine(_dir, "wired.ckpt");
        using (var model = Build(_b)) model.Save(path);
        // Same layers, same order, but the Add takes (stem, a) instead of (a, stem).
        var x = Model.Input((1, 8, 8), "image");
        var stem = new ReLU("stem_relu").Call(new BatchNorm2D(name: "stem_bn").Call(new Conv2D(4, 3, padding: 1, name: "stem").Call(x)));
        var shared = new Conv2D(4, 3, padding: 1, name: "shared");
        var a = shared.Call(stem);
        var b = shared.Call(new MaxPool2D(1, name: "identity_pool").Call(stem));
        var cat = new Concat("cat").Call(new Add("add").Call(stem, a), b);
        var y = new Dense(3, name: "fc").Call(new Dropout(0.3f, name: "drop").Call(new GlobalAvgPool2D("gap").Call(cat)));
        using var rewired = new Model(_b, x, y, 6, "graph");
        var e = Assert.Throws<ConvNetArgumentException>(() => ModelCheckpoint.LoadWeights(path, rewired));
        Assert.Contains("differently connected", e.Message, StringComparison.Ordinal);
    }
}
