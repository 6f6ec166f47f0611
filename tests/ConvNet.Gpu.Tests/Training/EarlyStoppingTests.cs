using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// EarlyStopping follows Keras: with patience p it stops at the end of the p-th consecutive epoch without improvement
/// (the off-by-one of issue 16 stopped after p + 1). One test per patience value, through Fit and on a scripted metric.
/// </summary>
public sealed class EarlyStoppingTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FitStopsAfterExactlyPatienceEpochsWithoutImprovement(int patience)
    {
        // A zero learning rate and a fixed order: every epoch has the same training loss, so epoch 0 sets the best and
        // no later epoch improves. Patience p >= 1 stops at the end of epoch p (p + 1 epochs); patience 0 stops at the
        // first epoch without improvement, epoch 1, as patience 1 does (Keras: the first epoch always improves).
        using var model = new Sequential(_b, (1, 8, 8), 3).Add(new Flatten(), new Dense(3));
        using var opt = new Sgd(0f);
        var stop = new EarlyStopping("loss", patience: patience);
        var history = new Trainer(model, opt).Fit(SyntheticData.Squares(48, 1),
            new TrainingOptions { Epochs = 10, BatchSize = 16, Shuffle = false, Callbacks = [stop] });
        int expectedEpochs = Math.Max(patience, 1) + 1;
        Assert.Equal(StopReason.StoppedByCallback, history.StopReason);
        Assert.Equal(expectedEpochs, history.Epochs.Count);
        Assert.Equal(expectedEpochs - 1, stop.StoppedEpoch);
        Assert.Equal(history.Epochs[0].TrainLoss, stop.Best);
    }

    [Theory]
    [InlineData(1, 3)] // best 0.5 at epoch 2; epoch 3 does not improve: stop there
    [InlineData(2, 4)]
    [InlineData(3, 5)]
    public void StopsOnTheScriptedEpochAndAnImprovementResetsTheCount(int patience, int stoppedEpoch)
    {
        // val_loss per epoch: improvements at epochs 0, 1 and 2 (best 0.5), then none: epochs 3, 4, 5... are the 1st, 2nd,
        // 3rd... epochs without improvement.
        double[] losses = [1.0, 0.8, 0.5, 0.6, 0.55, 0.7, 0.9, 0.9];
        using var model = new Sequential(_b, (1, 8, 8), 3).Add(new Flatten(), new Dense(3));
        using var opt = new Sgd(0f);
        var trainer = new Trainer(model, opt);
        var stop = new EarlyStopping("val_loss", patience: patience);
        int? stopped = null;
        for (int epoch = 0; epoch < losses.Length && stopped is null; epoch++)
        {
            stop.OnEpochEnd(trainer, new EpochMetrics(epoch, losses.Length, 1.0, 0.5, losses[epoch], 0.5, 1, 1, 0.1f, 0));
            if (trainer.StopRequested) stopped = epoch;
        }
        Assert.Equal(stoppedEpoch, stopped);
        Assert.Equal(stoppedEpoch, stop.StoppedEpoch);
        Assert.Equal(0.5, stop.Best);
    }

    [Fact]
    public void AnImprovementInsideThePatienceWindowKeepsTrainingGoing()
    {
        // Patience 2: epoch 1 is worse, epoch 2 improves again (count back to 0), epochs 3 and 4 are worse: stop at 4.
        double[] losses = [1.0, 1.1, 0.9, 0.95, 0.97, 0.5];
        using var model = new Sequential(_b, (1, 8, 8), 3).Add(new Flatten(), new Dense(3));
        using var opt = new Sgd(0f);
        var trainer = new Trainer(model, opt);
        var stop = new EarlyStopping("val_loss", patience: 2);
        for (int epoch = 0; epoch < losses.Length && !trainer.StopRequested; epoch++)
            stop.OnEpochEnd(trainer, new EpochMetrics(epoch, losses.Length, 1.0, 0.5, losses[epoch], 0.5, 1, 1, 0.1f, 0));
        Assert.Equal(4, stop.StoppedEpoch);
        Assert.Equal(0.9, stop.Best);
    }
}
