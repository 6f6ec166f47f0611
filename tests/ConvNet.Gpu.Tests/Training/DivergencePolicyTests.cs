using ConvNet.Gpu.Data;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// The divergence policy: a finite loss that explodes relative to the start of training, or a collapse to chance
/// accuracy after an epoch above it, stops Fit with a TrainingDivergedException; the thresholds are settings.
/// </summary>
public sealed class DivergencePolicyTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    // He-uniform weights and zero biases (not the PyTorch defaults): the scenarios below (a rate that kills every ReLU)
    // were tuned on this initialization.
    private Sequential Model() =>
        new Sequential(_b, (1, 8, 8), seed: 5).Add(
            new Conv2D(4, Conv2dSpec.Square(3, padding: 1), weightInitializer: Initializer.HeUniform, biasInitializer: Initializer.Zeros), new ReLU(),
            new Flatten(), new Dense(16, weightInitializer: Initializer.HeUniform, biasInitializer: Initializer.Zeros), new ReLU(),
            new Dense(3, weightInitializer: Initializer.HeUniform, biasInitializer: Initializer.Zeros));

    [Theory]
    [InlineData("adam", 100f)]
    [InlineData("sgd", 1000f)]
    public void An_exploding_loss_stops_fit_with_the_loss_growth_rule(string optimizer, float lr)
    {
        // SGD at a huge rate kills every ReLU of the conv net at once (a constant, finite loss), so it runs on softmax
        // regression of random labels, whose loss grows with the rate; Adam's normalized steps blow up the conv net.
        var data = optimizer == "adam" ? SyntheticData.Squares(480, 4) : NoisyLabels(480); // 30 batches of 16 per epoch
        using var model = optimizer == "adam" ? Model() : new Sequential(_b, (1, 8, 8), seed: 5).Add(new Flatten(), new Dense(3));
        using Optimizer opt = optimizer == "adam" ? new Adam(lr) : new Sgd(lr, momentum: 0.9f);
        var trainer = new Trainer(model, opt);

        var e = Assert.ThrowsAny<TrainingDivergedException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 3, BatchSize = 16 }));

        Assert.True(e.Kind == DivergenceKind.LossGrowth, e.Message);
        Assert.Equal(0, e.Epoch);
        Assert.True(e.Batch >= DivergencePolicy.Default.MinBatches - 1, e.Message);
        Assert.True(e.Loss > 100 * trainer.Divergence.StartLoss!.Value, e.Message);
        Assert.Contains("more than 100 times the loss at the start of training", e.Message);
    }

    private static Dataset NoisyLabels(int count)
    {
        var rng = new TestRng();
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = (int)(rng.Next(0f, 2.999f));
        return new Dataset(rng.Uniform(count * 64L, 0f, 1f), labels, new TensorShape([1, 8, 8], ["C", "H", "W"]), ["a", "b", "c"], "noise");
    }

    [Fact]
    public void The_same_run_goes_on_when_the_rule_is_turned_off()
    {
        var data = SyntheticData.Squares(480, 4);
        using var model = Model();
        using var opt = new Adam(100f);
        var trainer = new Trainer(model, opt);

        // Only NaN/Inf can stop it now (SkipUpdate lets it finish either way).
        var history = trainer.Fit(data, new TrainingOptions
        {
            Epochs = 1, BatchSize = 16, Divergence = DivergencePolicy.NonFiniteOnly, NonFiniteLoss = NonFiniteLossPolicy.SkipUpdate,
        });

        Assert.Equal(StopReason.Completed, history.StopReason);
    }

    [Fact]
    public void A_healthy_run_is_not_stopped()
    {
        var data = SyntheticData.Squares(240, 4);
        using var model = Model();
        using var opt = new Adam(0.01f);
        var history = new Trainer(model, opt).Fit(data, new TrainingOptions { Epochs = 3, BatchSize = 16 });
        Assert.Equal(StopReason.Completed, history.StopReason);
        Assert.True(history.Epochs[^1].TrainAccuracy > 0.9, $"{history.Epochs[^1]}");
    }

    [Fact]
    public void A_run_that_learned_and_then_falls_back_to_chance_stops_with_the_chance_rule()
    {
        var data = SyntheticData.Squares(480, 4);
        using var model = Model();
        using var opt = new Sgd(0.05f, momentum: 0.9f);
        var trainer = new Trainer(model, opt);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 16, Divergence = DivergencePolicy.Default with { MaxLossRatio = double.PositiveInfinity } };
        var first = trainer.Fit(data, options);
        Assert.True(first.Epochs[0].TrainAccuracy > 0.5, $"the first epoch should learn: {first.Epochs[0]}");

        // A rate far too high kills every ReLU: the loss stays finite (about ln 3) but the accuracy drops to chance.
        opt.LearningRate = 50f;
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(data, new TrainingOptions
        {
            Epochs = 3, BatchSize = 16, Divergence = options.Divergence,
        }));

        Assert.Equal(DivergenceKind.CollapsedToChance, e.Kind);
        Assert.Equal(1, e.Epoch);
        Assert.True(double.IsFinite(e.Loss), e.Message);
    }

    [Fact]
    public void The_loss_rule_waits_for_min_batches_then_compares_the_epoch_mean_with_the_start_loss()
    {
        var monitor = new DivergenceMonitor(DivergencePolicy.Default with { MinBatches = 3 }, default, classes: 10);
        monitor.AfterBatch(2.0f, 2.0, 1, 0, 0, 1);              // the start loss
        monitor.AfterBatch(500f, 251, 2, 0, 1, 2);              // mean 251 > 200, but only 2 batches: not judged yet
        var e = Assert.Throws<TrainingDivergedException>(() => monitor.AfterBatch(500f, 334, 3, 0, 2, 3));
        Assert.Equal(DivergenceKind.LossGrowth, e.Kind);
        Assert.Equal(2.0, monitor.Reference.StartLoss);

        var calm = new DivergenceMonitor(DivergencePolicy.Default with { MinBatches = 1 }, default, classes: 10);
        calm.AfterBatch(2.0f, 2.0, 1, 0, 0, 1);
        calm.AfterBatch(150f, 199, 2, 0, 1, 2);                 // 99.5x: within the ratio
        calm.AfterEpoch(199, 0.5, 0, 1, 2);
    }

    [Fact]
    public void A_collapse_to_chance_after_an_epoch_above_it_trips_and_chance_from_the_start_does_not()
    {
        var policy = DivergencePolicy.Default;
        var monitor = new DivergenceMonitor(policy, default, classes: 10);
        monitor.AfterEpoch(2.3, 0.11, 0, 9, 10);                // at chance from the start: the run may still be warming up
        monitor.AfterEpoch(1.2, 0.60, 1, 9, 20);                // learned something
        var e = Assert.Throws<TrainingDivergedException>(() => monitor.AfterEpoch(2.3, 0.10, 2, 9, 30));
        Assert.Equal(DivergenceKind.CollapsedToChance, e.Kind);
        Assert.Contains("fell to 10.00%", e.Message);
        Assert.Contains("reached 60.00%", e.Message);

        var allowed = new DivergenceMonitor(policy with { StopAtChanceAccuracy = false }, default, classes: 10);
        allowed.AfterEpoch(1.2, 0.60, 0, 9, 10);
        allowed.AfterEpoch(2.3, 0.10, 1, 9, 20);
    }

    [Fact]
    public void A_resumed_run_is_judged_against_the_saved_references()
    {
        var monitor = new DivergenceMonitor(DivergencePolicy.Default with { MinBatches = 1 }, new DivergenceReference(0.5, 0.8), classes: 3);
        // The first batch after a resume is not taken as the start: 60 > 100 * 0.5 trips at once.
        Assert.Throws<TrainingDivergedException>(() => monitor.AfterBatch(60f, 60, 1, 4, 0, 401));
    }

    [Theory]
    [InlineData(1.0, 10, 0.2)]
    [InlineData(double.NaN, 10, 0.2)]
    [InlineData(100, 0, 0.2)]
    [InlineData(100, 10, -0.1)]
    [InlineData(100, 10, 1.5)]
    public void Out_of_range_settings_are_refused_by_fit(double ratio, int minBatches, double margin)
    {
        using var model = Model();
        using var opt = new Adam();
        var policy = new DivergencePolicy { MaxLossRatio = ratio, MinBatches = minBatches, ChanceMargin = margin };
        Assert.Throws<ConvNetArgumentException>(() =>
            new Trainer(model, opt).Fit(SyntheticData.Squares(16, 1), new TrainingOptions { Epochs = 1, BatchSize = 8, Divergence = policy }));
    }
}
