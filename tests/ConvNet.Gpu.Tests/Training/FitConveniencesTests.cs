using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Issue 16, item 4: Fit continues where it stopped (Keras semantics) with the absolute form as UntilEpoch; callback
/// and metric names checked before the first batch; restore-best-weights; ReduceLearningRateOnPlateau on Keras's rules.
/// </summary>
public sealed class FitConveniencesTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    private Sequential Small() => new Sequential(_b, (1, 8, 8), seed: 3).Add(new Flatten(), new Dense(3));

    [Fact]
    public void A_second_Fit_runs_that_many_more_epochs()
    {
        using var model = Small();
        using var opt = new Sgd(0.01f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1);
        var first = trainer.Fit(data, 2, batchSize: 16, cancellationToken: TestContext.Current.CancellationToken);
        var second = trainer.Fit(data, 2, batchSize: 16, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([0, 1], first.Epochs.Select(e => e.Epoch));
        Assert.Equal([2, 3], second.Epochs.Select(e => e.Epoch));
        Assert.All(second.Epochs, e => Assert.Equal(4, e.Epochs));
        Assert.Equal(StopReason.Completed, second.StopReason);
        Assert.Equal(new TrainingPosition(4, 0, 12), trainer.Position);
    }

    [Fact]
    public void UntilEpoch_is_the_absolute_form_and_a_finished_run_runs_no_more()
    {
        using var model = Small();
        using var opt = new Sgd(0.01f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1);
        Assert.Equal(3, trainer.Fit(data, new TrainingOptions { UntilEpoch = 3, BatchSize = 16 }).Epochs.Count);
        var again = trainer.Fit(data, new TrainingOptions { UntilEpoch = 3, BatchSize = 16 });
        Assert.Empty(again.Epochs);
        Assert.Equal(3, trainer.Position.Epoch);
        Assert.Equal(2, trainer.Fit(data, new TrainingOptions { UntilEpoch = 5, BatchSize = 16 }).Epochs.Count);
        var e = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 1, UntilEpoch = 6, BatchSize = 16 }));
        Assert.Contains("set one", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_stopped_mid_epoch_counts_finishing_that_epoch_as_one()
    {
        using var model = Small();
        using var opt = new Sgd(0.01f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1); // 3 batches of 16 per epoch
        trainer.Fit(data, new TrainingOptions { Epochs = 5, BatchSize = 16, MaxSteps = 4 });
        Assert.Equal(new TrainingPosition(1, 1, 4), trainer.Position);
        var rest = trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16 });
        Assert.Equal([1], rest.Epochs.Select(e => e.Epoch));
        Assert.Equal(new TrainingPosition(2, 0, 6), trainer.Position);
    }

    [Theory]
    [InlineData("val_acc", true, "did you mean 'val_accuracy'")]
    [InlineData("val_loss", false, "no validation data")]
    [InlineData("los", false, "did you mean 'loss'")]
    public void A_monitored_name_the_run_does_not_report_fails_before_the_first_batch(string monitor, bool validation, string hint)
    {
        using var model = Small();
        using var opt = new Sgd(0.01f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1);
        int batches = 0;
        trainer.BatchCompleted += (_, _) => batches++;
        var options = new TrainingOptions
        {
            Epochs = 2, BatchSize = 16, Validation = validation ? data : null,
            Callbacks = [new EarlyStopping(monitor)],
        };
        var e = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, options));
        Assert.Contains($"'{monitor}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(hint, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, batches);
        Assert.Equal(0, opt.StepCount);
    }

    [Fact]
    public void Metric_names_are_checked_against_the_task_before_the_first_batch()
    {
        using var model = Small();
        using var opt = new Sgd(0.01f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1);
        var unknown = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 1, Metrics = ["f2"] }));
        Assert.Contains("Unknown metric 'f2'", unknown.Message, StringComparison.Ordinal);
        var wrongTask = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 1, Metrics = ["mae"] }));
        Assert.Contains("float targets", wrongTask.Message, StringComparison.Ordinal);
        // A metric the run does report can be monitored, in its validation form too.
        var stop = new EarlyStopping("val_f1", patience: 5);
        trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16, Validation = data, Metrics = ["f1"], Callbacks = [stop] });
        Assert.NotNull(stop.Best);
        Assert.Equal(3, opt.StepCount);
    }

    [Fact]
    public void Restore_best_weights_puts_back_the_best_epochs_parameters_and_state_when_stopping()
    {
        using var model = new Sequential(_b, (1, 4, 4), seed: 3).Add(new Conv2D(2, 3, padding: 1), new BatchNorm2D(), new Flatten(), new Dense(2));
        using var opt = new Sgd(0f);
        var trainer = new Trainer(model, opt);
        var stop = new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true);
        stop.OnTrainBegin(trainer);
        double[] losses = [1.0, 0.5, 0.7, 0.8];
        float[][]? best = null;
        for (int epoch = 0; epoch < losses.Length && !trainer.StopRequested; epoch++)
        {
            // Every epoch "trains": every parameter and state tensor gets the epoch number.
            foreach (var (_, p) in model.NamedParameters) _b.Fill(p.Value, epoch + 1);
            foreach (var (_, s) in model.NamedState) _b.Fill(s.Value, 10 * (epoch + 1));
            if (epoch == 1) best = model.NamedParameters.Select(p => p.Parameter.Value.ToArray()).Concat(model.NamedState.Select(s => s.State.Value.ToArray())).ToArray();
            stop.OnEpochEnd(trainer, new EpochMetrics(epoch, losses.Length, 1.0, 0.5, losses[epoch], 0.5, 1, 1, 0.1f, 0));
        }
        Assert.Equal(3, stop.StoppedEpoch);
        Assert.Equal(1, stop.BestEpoch);
        var now = model.NamedParameters.Select(p => p.Parameter.Value.ToArray()).Concat(model.NamedState.Select(s => s.State.Value.ToArray())).ToArray();
        Assert.Equal(best!, now);
        Assert.All(now[0], v => Assert.Equal(2f, v));
    }

    [Fact]
    public void Without_restore_the_last_weights_stay_and_a_new_Fit_starts_the_count_over()
    {
        using var model = Small();
        using var opt = new Sgd(0f);
        var trainer = new Trainer(model, opt);
        var stop = new EarlyStopping("loss", patience: 1);
        var data = SyntheticData.Squares(48, 1);
        var first = trainer.Fit(data, new TrainingOptions { Epochs = 10, BatchSize = 16, Shuffle = false, Callbacks = [stop] });
        Assert.Equal(2, first.Epochs.Count);
        // Keras resets the callback's state at train begin: the next Fit's first epoch sets a new best.
        var second = trainer.Fit(data, new TrainingOptions { Epochs = 10, BatchSize = 16, Shuffle = false, Callbacks = [stop] });
        Assert.Equal(2, second.Epochs.Count);
        Assert.Equal(3, stop.StoppedEpoch);
    }

    [Fact]
    public void ReduceLearningRateOnPlateau_follows_Kerass_rules()
    {
        using var model = Small();
        using var opt = new Sgd(1f);
        var trainer = new Trainer(model, opt);
        var plateau = new ReduceLearningRateOnPlateau("val_loss", factor: 0.5f, patience: 2, minDelta: 0.01, cooldown: 2, minLearningRate: 0.2f);
        plateau.OnTrainBegin(trainer);
        // Keras ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01, cooldown=2, min_lr=0.2), traced by hand from its
        // on_epoch_end (the cooldown counter drops at the start of an epoch's check, then the wait counts if it is 0):
        // e0 best 1.0 | e1 0.995 (not < 0.99) wait 1 | e2 wait 2 -> lr 0.5, cooldown 2 | e3 cooldown 1 | e4 cooldown 0, wait 1
        // e5 0.5 improves | e6 wait 1 | e7 wait 2 -> 0.25 | e8 cooldown 1 | e9 wait 1 | e10 wait 2 -> max(0.125, 0.2) = 0.2
        // e11 cooldown 1 | e12 wait 1 | e13 wait 2: lr 0.2 is not above min_lr, no change.
        double[] losses = [1.0, 0.995, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6];
        float[] expected = [1, 1, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f, 0.25f, 0.2f, 0.2f, 0.2f, 0.2f];
        for (int epoch = 0; epoch < losses.Length; epoch++)
        {
            plateau.OnEpochEnd(trainer, new EpochMetrics(epoch, losses.Length, 1.0, 0.5, losses[epoch], 0.5, 1, 1, opt.LearningRate, 0));
            Assert.Equal(expected[epoch], opt.LearningRate);
        }
        Assert.Equal([2, 7, 10], plateau.Reductions);
    }

    [Fact]
    public void ReduceLearningRateOnPlateau_lowers_the_rate_during_Fit_and_refuses_a_schedule()
    {
        using var model = Small();
        using var opt = new Sgd(0.4f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(48, 1);
        // No change of the loss beats a minimum change of 1e9: epoch 0 sets the best, epochs 1 and 2 each end a plateau.
        var plateau = new ReduceLearningRateOnPlateau("loss", factor: 0.5f, patience: 1, minDelta: 1e9);
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 3, BatchSize = 16, Callbacks = [plateau] });
        Assert.Equal([1, 2], plateau.Reductions);
        Assert.Equal(0.1f, opt.LearningRate);
        Assert.Equal(0.4f, history.Epochs[1].LearningRate); // reduced at the end of epoch 1: epoch 2 ran at 0.2
        Assert.Equal(0.2f, history.Epochs[2].LearningRate);
        var e = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, new TrainingOptions
        {
            Epochs = 1, BatchSize = 16, Callbacks = [plateau], Schedule = LearningRateSchedule.Cosine(5),
        }));
        Assert.Contains("both set the learning rate", e.Message, StringComparison.Ordinal);
    }
}
