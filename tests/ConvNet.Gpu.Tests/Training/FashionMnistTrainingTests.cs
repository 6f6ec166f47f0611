using ConvNet.Gpu.Data;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>A short real training run: modern LeNet-5 on a few hundred Fashion-MNIST images; the loss must fall.</summary>
public sealed class FashionMnistTrainingTests
{
    [Fact]
    public void LeNet5LossFallsOnAFewHundredRealImages()
    {
        if (!FashionMnist.TryFind(null, out var dir, out var reason))
            Assert.Skip($"Fashion-MNIST is not installed: {reason}");
        var (train, test) = FashionMnist.Load(dir!);
        var subset = train.Take(512);
        var normalization = Normalization.FromDataset(subset);
        using var backend = Backend.Cpu(2);
        using var model = ConvNet.Gpu.Models.LeNet5(backend, seed: 1);
        using var opt = new Adam(2e-3f);
        var trainer = new Trainer(model, opt);
        var history = trainer.Fit(subset, new TrainingOptions { Epochs = 3, BatchSize = 32, Seed = 7, Normalization = normalization });
        double first = history.Epochs[0].TrainLoss, last = history.Epochs[^1].TrainLoss;
        Assert.True(first > 1.0, $"the first epoch's loss {first} should start near ln 10");
        Assert.True(last < 0.75 * first, $"training loss should fall: epoch 0 {first:F4}, epoch 2 {last:F4}");
        var eval = trainer.Evaluate(test.Take(500), normalization: normalization);
        Assert.True(eval.Accuracy > 0.5, $"held-out accuracy {eval.Accuracy:P1} after 48 steps on 512 images");
    }
}
