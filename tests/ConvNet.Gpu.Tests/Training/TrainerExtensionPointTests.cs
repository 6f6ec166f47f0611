using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Parameters;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>The trainer's extension points: gradient hooks between backward and update, and checkpoints that carry the run's state and metadata in one write.</summary>
public sealed class TrainerExtensionPointTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-ext-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _b.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private Sequential Model(ulong seed = 3) =>
        new Sequential(_b, (1, 8, 8), seed).Add(new Conv2D(2, 3, padding: 1), new ReLU(), new Flatten(), new Dense(3));

    private sealed class RecordingHook(Action<IReadOnlyList<Parameter>>? change = null) : IGradientHook
    {
        public List<(long Step, float[][] Gradients, float[][] Values)> Calls { get; } = [];

        public void OnGradients(IReadOnlyList<Parameter> parameters, long globalStep)
        {
            Calls.Add((globalStep, parameters.Select(p => p.Gradient.ToArray()).ToArray(), parameters.Select(p => p.Value.ToArray()).ToArray()));
            change?.Invoke(parameters);
        }
    }

    [Fact]
    public void AHookSeesThisStepsGradientsBeforeTheUpdateAndCanChangeThem()
    {
        var data = SyntheticData.Squares(16, 1);
        // Reference: the gradients of the first batch, by a plain forward/backward on an identical model.
        float[][] expected;
        using (var reference = Model())
        using (var loss = new ConvNet.Gpu.Losses.SoftmaxCrossEntropyLoss())
        using (var x = _b.Allocate(TensorShape.Nchw(16, 1, 8, 8)))
        using (var y = _b.Allocate(TensorShape.Vector(16), DataType.Int32))
        {
            x.Upload(data.Images.Span);
            y.Upload(data.Labels.Span);
            loss.Forward(reference.Forward(x, training: true), y);
            reference.Backward(loss.Backward());
            expected = reference.Parameters.Select(p => p.Gradient.ToArray()).ToArray();
        }

        using var model = Model();
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        using var opt = new Sgd(0.5f);
        var zeroing = new RecordingHook(ps => { foreach (var p in ps) _b.Fill(p.Gradient, 0f); });
        var after = new RecordingHook();
        using var trainer = new Trainer(model, opt);
        trainer.GradientHooks.Add(zeroing);
        trainer.GradientHooks.Add(after);
        trainer.TrainStep(data.Images.Span, data.Labels.Span);

        var call = Assert.Single(zeroing.Calls);
        Assert.Equal(0, call.Step);
        for (int p = 0; p < expected.Length; p++)
        {
            Assert.Equal(expected[p], call.Gradients[p]);          // this step's gradients, bit for bit
            Assert.Equal(before[p], call.Values[p]);                // not yet applied
            Assert.All(Assert.Single(after.Calls).Gradients[p], g => Assert.Equal(0f, g)); // hooks run in order
        }
        // Plain SGD with zeroed gradients leaves every weight where it was.
        Assert.Equal(before.SelectMany(v => v), model.Parameters.SelectMany(p => p.Value.ToArray()));
        Assert.Equal(1, opt.StepCount);
    }

    [Fact]
    public void ASkippedUpdateRunsNoHookAndKeepsTheWeights()
    {
        using var model = Model();
        using var opt = new Sgd(0.5f);
        var hook = new RecordingHook();
        using var trainer = new Trainer(model, opt);
        trainer.GradientHooks.Add(hook);
        var data = SyntheticData.Squares(4, 1);
        var images = data.Images.ToArray();
        images[5] = float.NaN;
        var before = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        var step = trainer.TrainStep(images, data.Labels.Span, NonFiniteLossPolicy.SkipUpdate);
        Assert.True(step.UpdateSkipped);
        Assert.True(float.IsNaN(step.Loss));
        Assert.Empty(hook.Calls);
        Assert.Equal(before, model.Parameters.SelectMany(p => p.Value.ToArray()));
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.TrainStep(images, data.Labels.Span));
        Assert.Equal(0, e.Step);
        Assert.Equal(before, model.Parameters.SelectMany(p => p.Value.ToArray()));
    }

    [Fact]
    public void CheckpointMetadataIsWrittenOnceWithTheCheckpoint()
    {
        using var model = Model();
        using var opt = new Adam(0.01f);
        using var trainer = new Trainer(model, opt);
        trainer.Fit(SyntheticData.Squares(32, 1), new TrainingOptions { Epochs = 1, BatchSize = 16 });
        string path = Path.Combine(_dir, "meta.ckpt");
        trainer.SaveCheckpoint(path, new CheckpointMetadata { Model = "custom-cnn", Entries = new Dictionary<string, string> { ["run"] = "7" } });
        var saved = SavedCheckpoint.Read(path);
        Assert.Equal(ModelCheckpoint.TrainingKind, saved.Kind);
        Assert.Equal("custom-cnn", saved.Metadata.Model);
        Assert.Equal("7", saved.Metadata.Entries["run"]);
        Assert.Equal(ConvNet.Gpu.Data.Normalization.Identity, saved.Metadata.InputNormalization);
        Assert.Equal(new TrainingState(1, 0, 2, 16, 0, trainer.Divergence.StartLoss, trainer.Divergence.BestEpochAccuracy), saved.Training!.State);

        using var loaded = ConvNet.Gpu.Nn.Model.Load(path, _b);
        Assert.IsType<Sequential>(loaded);
        Assert.Equal(model.Parameters.SelectMany(p => p.Value.ToArray()), loaded.Parameters.SelectMany(p => p.Value.ToArray()));
    }
}
