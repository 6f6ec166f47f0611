using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>Fit, events, early stopping, cancellation, non-finite losses, anomaly mode and checkpoint callbacks.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _b.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private Sequential SmallCnn(ulong seed = 3) =>
        new Sequential(_b, (1, 8, 8), seed)
            .Add(new Conv2D(4, 3, padding: 1), new ReLU(), new MaxPool2D(2))
            .Add(new Flatten(), new Dense(3));

    [Fact]
    public void LossFallsAndEventsReportProgress()
    {
        using var model = SmallCnn();
        using var opt = new Sgd(0.1f, momentum: 0.9f);
        var trainer = new Trainer(model, opt);
        var batches = new List<BatchProgress>();
        var epochs = new List<EpochMetrics>();
        trainer.BatchCompleted += (_, p) => batches.Add(p);
        trainer.EpochCompleted += (_, m) => epochs.Add(m);
        var data = SyntheticData.Squares(96, 1);
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 4, BatchSize = 16, Seed = 9, Validation = SyntheticData.Squares(30, 2) });
        Assert.Equal(StopReason.Completed, history.StopReason);
        Assert.Equal(4 * 6, batches.Count);
        Assert.Equal(4, epochs.Count);
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), batches.Select(b => b.GlobalStep));
        Assert.All(batches, b => Assert.True(b.ImagesPerSecond > 0 && b.EpochRemaining >= TimeSpan.Zero));
        Assert.True(epochs[^1].TrainLoss < 0.5 * epochs[0].TrainLoss, $"loss {epochs[0].TrainLoss} -> {epochs[^1].TrainLoss}");
        Assert.True(epochs[^1].ValidationAccuracy > 0.9, $"validation accuracy {epochs[^1].ValidationAccuracy}");
        Assert.Equal(new TrainingPosition(4, 0, 24), trainer.Position);

        var eval = trainer.Evaluate(SyntheticData.Squares(30, 2));
        Assert.Equal(30, eval.Count);
        Assert.Equal(epochs[^1].ValidationAccuracy!.Value, eval.Accuracy, 10);
        var predicted = model.Predict(SyntheticData.Squares(30, 2).Images.Span, 30).Classes;
        var labels = SyntheticData.Squares(30, 2).Labels.ToArray();
        Assert.Equal(eval.ConfusionMatrix!.Correct, predicted.Zip(labels).Count(p => p.First == p.Second));
    }

    [Fact]
    public void TrainStepWithMeanSquaredErrorFitsALinearMap()
    {
        // Regression y = 2*x0 - x1 + 0.5 with a single dense unit: MSE falls by orders of magnitude.
        using var model = new Sequential(_b, ConvNet.Gpu.Nn.Shapes.Features(2), seed: 4).Add(new Dense(1));
        using var opt = new Sgd(0.1f);
        using var mse = new ConvNet.Gpu.Losses.MeanSquaredErrorLoss();
        var r = new ConvNet.Gpu.Initializers.HostRandom(3);
        var xs = Enumerable.Range(0, 32).Select(_ => r.NextUniform(-1, 1)).ToArray();
        var ys = Enumerable.Range(0, 16).Select(i => 2 * xs[2 * i] - xs[2 * i + 1] + 0.5f).ToArray();
        using var x = _b.Allocate(TensorShape.Matrix(16, 2)); x.Upload(xs);
        using var y = _b.Allocate(TensorShape.Matrix(16, 1)); y.Upload(ys);
        using var trainer = new Trainer(model, opt, mse);
        float first = trainer.TrainStep(x, y).Loss, last = first;
        for (int i = 0; i < 300; i++) last = trainer.TrainStep(x, y).Loss;
        Assert.True(last < first * 1e-3, $"MSE {first} -> {last}");
        Assert.Equal([2f, -1f], ((Dense)model.Layers[0]).Weight.Value.ToArray().Select(v => MathF.Round(v, 2)).ToArray());
    }

    [Fact]
    public void TrainerTrainStepReportsLossAndAccuracy()
    {
        using var model = SmallCnn();
        using var opt = new Sgd(0.1f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(16, 1);
        var before = model.Evaluate(data.Images.Span, data.Labels.Span);
        var step = trainer.TrainStep(data.Images.Span, data.Labels.Span);
        // The step's loss is the training-mode loss before the update; this model has no dropout or batch norm,
        // so it equals the evaluation loss computed before the step.
        Assert.Equal(before.Loss, step.Loss, 5);
        Assert.Equal(before.ConfusionMatrix!.Correct, step.Correct);
        Assert.Equal(1, opt.StepCount);
        Assert.Throws<ConvNetArgumentException>(() => trainer.TrainStep(data.Images.Span, Enumerable.Repeat(3, 16).ToArray()));
    }

    [Fact]
    public void CancellationStopsAfterTheCurrentBatch()
    {
        using var model = SmallCnn();
        using var opt = new Sgd(0.05f);
        using var cts = new CancellationTokenSource();
        var trainer = new Trainer(model, opt);
        trainer.BatchCompleted += (_, p) => { if (p.GlobalStep == 3) cts.Cancel(); };
        var history = trainer.Fit(SyntheticData.Squares(96, 1), new TrainingOptions { Epochs = 2, BatchSize = 16, CancellationToken = cts.Token });
        Assert.Equal(StopReason.Cancelled, history.StopReason);
        Assert.Equal(new TrainingPosition(0, 3, 3), trainer.Position);
        Assert.Equal(3, history.StepLosses.Count);
    }

    [Fact]
    public void NonFiniteLossThrowsNamingTheStepOrSkipsTheUpdate()
    {
        var clean = SyntheticData.Squares(32, 1);
        var images = clean.Images.ToArray();
        images[16 * 64 + 5] = float.NaN; // first sample of batch 1 (no shuffle)
        var poisoned = new ConvNet.Gpu.Data.Dataset(images, clean.Labels, clean.SampleShape, clean.ClassNames, "poisoned");

        using (var model = SmallCnn())
        using (var opt = new Sgd(0.05f))
        {
            var e = Assert.Throws<NonFiniteLossException>(() => new Trainer(model, opt).Fit(poisoned,
                new TrainingOptions { Epochs = 1, BatchSize = 16, Shuffle = false }));
            Assert.Equal((0, 1, 1L), (e.Epoch, e.Batch, e.Step));
            Assert.Contains("epoch 0, batch 1 (global step 1)", e.Message, StringComparison.Ordinal);
        }

        using (var model = SmallCnn())
        using (var opt = new Sgd(0.05f))
        {
            var trainer = new Trainer(model, opt);
            float[]? before = null;
            trainer.BatchCompleted += (_, p) => { if (p.Batch == 0) before = model.Parameters[0].Value.ToArray(); };
            var history = trainer.Fit(poisoned, new TrainingOptions { Epochs = 1, BatchSize = 16, Shuffle = false, NonFiniteLoss = NonFiniteLossPolicy.SkipUpdate });
            Assert.Equal(1, history.Epochs[0].SkippedUpdates);
            Assert.Equal(before, model.Parameters[0].Value.ToArray()); // batch 1 changed nothing
            Assert.True(float.IsFinite((float)history.Epochs[0].TrainLoss));
        }
    }

    [Fact]
    public void AnomalyModeNamesTheFirstLayerProducingInfinity()
    {
        using var model = new Sequential(_b, ConvNet.Gpu.Nn.Shapes.Features(4))
            .Add(new Dense(4, name: "first"), new Tanh("squash"), new Dense(4, name: "overflow"), new Dense(3, name: "last"));
        // The first layer's weights are fixed too, so the tanh outputs are all near 1 and their sum overflows.
        ((Dense)model.Layers[0]).Weight.Value.Upload(Enumerable.Repeat(1f, 16).ToArray());
        var overflow = (Dense)model.Layers[2];
        overflow.Weight.Value.Upload(Enumerable.Repeat(3e38f, 16).ToArray());
        using var input = _b.Allocate(TensorShape.Matrix(2, 4));
        input.Upload([0.5f, 0.1f, 0.2f, 0.3f, 0.9f, 0.8f, 0.7f, 0.6f]);
        model.AnomalyDetection = true;
        var e = Assert.Throws<NumericAnomalyException>(() => model.Forward(input, training: true));
        Assert.Equal("overflow", e.LayerName);
        Assert.Equal("forward", e.Phase);
        Assert.Contains("'overflow' (Dense)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnomalyModeNamesALayerInsideAResidualBlockAndChecksGradients()
    {
        using var model = new Sequential(_b, (1, 4, 4))
            .Add(new Residual([new Conv2D(1, 3, padding: 1, name: "inner_a"), new Tanh("inner_tanh"), new Conv2D(1, 3, padding: 1, name: "inner_b")], name: "block"))
            .Add(new Flatten(), new Dense(2, name: "head"));
        using var input = _b.Allocate(TensorShape.Nchw(1, 1, 4, 4));
        input.Upload(Enumerable.Range(0, 16).Select(i => i * 0.1f).ToArray());
        model.AnomalyDetection = true;
        var inner = (Conv2D)((Residual)model.Layers[0]).Block[2];
        inner.Weight.Value.Upload(Enumerable.Repeat(float.PositiveInfinity, 9).ToArray());
        var e = Assert.Throws<NumericAnomalyException>(() => model.Forward(input, training: true));
        Assert.Equal("block/inner_b", e.LayerName);

        // Finite forward, but an infinite upstream gradient: the head's weight gradient is the first to blow up.
        inner.Weight.Value.Upload(new float[9]);
        model.Forward(input, training: true);
        using var g = _b.Allocate(TensorShape.Matrix(1, 2));
        g.Upload([float.PositiveInfinity, 0f]);
        var b = Assert.Throws<NumericAnomalyException>(() => model.Backward(g));
        Assert.Equal(("head", "backward"), (b.LayerName, b.Phase));
        model.AnomalyDetection = false;
        model.Backward(g); // no checks once switched off
    }

    [Fact]
    public void CheckpointCallbackWritesLastAndBest()
    {
        using var model = SmallCnn();
        using var opt = new Adam(0.01f);
        var callback = new CheckpointCallback(_dir, monitor: "val_accuracy");
        new Trainer(model, opt).Fit(SyntheticData.Squares(48, 1),
            new TrainingOptions { Epochs = 2, BatchSize = 16, Validation = SyntheticData.Squares(15, 2), Callbacks = [callback] });
        Assert.True(File.Exists(callback.LastPath));
        Assert.True(File.Exists(callback.BestPath));
        using var last = Sequential.Load(callback.LastPath, _b);
        Assert.Equal(model.Parameters.SelectMany(p => p.Value.ToArray()), last.Parameters.SelectMany(p => p.Value.ToArray()));
    }

    [Fact]
    public void LoadingAnotherArchitectureFailsClearly()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "lenet.ckpt");
        using (var lenet = ConvNet.Gpu.Models.LeNet5(_b)) lenet.Save(path);
        using var other = ConvNet.Gpu.Models.LeNet5Classic(_b);
        var e = Assert.Throws<ConvNetArgumentException>(() => ModelCheckpoint.LoadWeights(path, other));
        Assert.Contains("different architecture", e.Message, StringComparison.Ordinal);
        Assert.Contains("at layer 0", e.Message, StringComparison.Ordinal);
        // A model-only checkpoint cannot be resumed from.
        using var opt = new Sgd(0.1f);
        using var same = ConvNet.Gpu.Models.LeNet5(_b);
        Assert.Throws<CheckpointFormatException>(() => new Trainer(same, opt).RestoreCheckpoint(path));
    }
}
