using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Resume continues bit-identically on the CPU (testing.md, "Determinism"): N steps straight through, versus k steps,
/// a checkpoint, a fresh model rebuilt from the file alone, a fresh optimizer and trainer, and N - k more steps.
/// Losses and final weights must match with atol = rtol = 0. The model has dropout (RNG counter), batch norm (running
/// statistics) and Adam (moments and step count); the data is shuffled per epoch and the schedule changes per epoch.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-resume-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _b.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private Sequential Model() =>
        new Sequential(_b, (1, 8, 8), seed: 77)
            .Add(new Conv2D(4, 3, padding: 1), new BatchNorm2D(), new ReLU(), new MaxPool2D(2))
            .Add(new Flatten(), new Dense(16), new ReLU(), new Dropout(0.3f), new Dense(3));

    private static TrainingOptions Options(long? maxSteps = null) => new()
    {
        UntilEpoch = 3, BatchSize = 16, Seed = 1234, Schedule = LearningRateSchedule.Step(1, 0.5f), MaxSteps = maxSteps,
    };

    private static float[] Weights(Sequential m) =>
        m.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()).Concat(m.NamedState.SelectMany(s => s.State.Value.ToArray())).ToArray();

    [Theory]
    [InlineData(8)]   // mid-epoch (epoch 1, batch 2 of 6)
    [InlineData(12)]  // exactly at an epoch boundary
    public void ResumingFromACheckpointIsBitIdentical(int k)
    {
        var data = SyntheticData.Squares(96, 5); // 6 batches per epoch, 18 steps in all

        List<float> straight;
        float[] straightWeights;
        using (var model = Model())
        using (var opt = new Adam(0.01f))
        {
            straight = new Trainer(model, opt).Fit(data, Options()).StepLosses;
            straightWeights = Weights(model);
        }
        Assert.Equal(18, straight.Count);

        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "resume.ckpt");
        List<float> first;
        using (var model = Model())
        using (var opt = new Adam(0.01f))
        {
            var trainer = new Trainer(model, opt);
            first = trainer.Fit(data, Options(maxSteps: k)).StepLosses;
            trainer.SaveCheckpoint(path);
        }

        List<float> second;
        float[] resumedWeights;
        using (var model = Sequential.Load(path, _b))
        using (var opt = new Adam(0.01f))
        {
            var trainer = new Trainer(model, opt);
            trainer.RestoreCheckpoint(path);
            Assert.Equal(k, trainer.Position.GlobalStep);
            second = trainer.Fit(data, Options()).StepLosses;
            resumedWeights = Weights(model);
        }

        Assert.Equal(straight, first.Concat(second).ToList());
        Assert.Equal(straightWeights.Length, resumedWeights.Length);
        for (int i = 0; i < straightWeights.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(straightWeights[i]) == BitConverter.SingleToInt32Bits(resumedWeights[i]),
                $"weight {i}: straight {straightWeights[i]:R} vs resumed {resumedWeights[i]:R}");
    }

    [Fact]
    public void ACheckpointWrittenOnCancellationResumesBitIdentically()
    {
        // The CLI's Ctrl-C path: cancel, save, and later resume into fresh objects.
        var data = SyntheticData.Squares(64, 8); // 4 batches per epoch, 12 steps
        List<float> straight;
        using (var model = Model())
        using (var opt = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f))
            straight = new Trainer(model, opt).Fit(data, Options()).StepLosses;

        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "cancel.ckpt");
        List<float> first;
        using (var model = Model())
        using (var opt = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f))
        using (var cts = new CancellationTokenSource())
        {
            var trainer = new Trainer(model, opt);
            trainer.BatchCompleted += (_, p) => { if (p.GlobalStep == 5) cts.Cancel(); };
            var options = Options();
            var history = trainer.Fit(data, new TrainingOptions
            {
                UntilEpoch = options.UntilEpoch, BatchSize = options.BatchSize, Seed = options.Seed, Schedule = options.Schedule, CancellationToken = cts.Token,
            });
            Assert.Equal(StopReason.Cancelled, history.StopReason);
            first = history.StepLosses;
            trainer.SaveCheckpoint(path);
        }
        using (var model = Model())
        using (var opt = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f))
        {
            var trainer = new Trainer(model, opt);
            trainer.RestoreCheckpoint(path);
            Assert.Equal(new TrainingPosition(1, 1, 5), trainer.Position);
            Assert.Equal(straight, first.Concat(trainer.Fit(data, Options()).StepLosses).ToList());
        }
    }

    [Fact]
    public void ResumingWithAnotherOptimizerIsRefused()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "sgd.ckpt");
        using (var model = Model())
        using (var opt = new Sgd(0.1f, momentum: 0.9f))
        {
            var trainer = new Trainer(model, opt);
            trainer.Fit(SyntheticData.Squares(32, 1), Options(maxSteps: 1));
            trainer.SaveCheckpoint(path);
        }
        using var fresh = Model();
        using var adam = new Adam();
        var e = Assert.Throws<ConvNetArgumentException>(() => new Trainer(fresh, adam).RestoreCheckpoint(path));
        Assert.Contains("'sgd'", e.Message, StringComparison.Ordinal);
    }
}
