using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Models;

/// <summary>ResNet-18 (CIFAR variant) as a graph model: parameter count by hand, its structure, and training through the Trainer.</summary>
public sealed class ResNet18Tests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    [Fact]
    public void ResNet18For32x32Has11173962Parameters()
    {
        using var model = ConvNet.Gpu.Models.ResNet18(_b, classes: 10);
        // By hand: a 3x3 convolution of c -> k maps has 9ck weights (no bias), a batch norm 2k, a 1x1 shortcut ck.
        static long Conv(int c, int k, int size = 3) => (long)size * size * c * k;
        long stem = Conv(3, 64) + 2 * 64;
        long Stage(int c, int k) =>
            Conv(c, k) + Conv(k, k) + 4 * k + (c != k ? Conv(c, k, 1) + 2 * k : 0)   // first block (with its shortcut)
            + 2 * Conv(k, k) + 4 * k;                                             // second block
        long total = stem + Stage(64, 64) + Stage(64, 128) + Stage(128, 256) + Stage(256, 512) + 512 * 10 + 10;
        Assert.Equal(11_173_962, total);
        Assert.Equal(total, model.TrainableParameterCount);
        Assert.Equal([3, 32, 32], model.InputShape.Dimensions.ToArray());
        Assert.Equal([10], model.OutputShape.Dimensions.ToArray());
        Assert.Equal(8, model.Layers.Count(l => l is Add));
        Assert.Equal(3, model.Layers.Count(l => l.Name.EndsWith("_down", StringComparison.Ordinal)));
        var summary = model.Summary();
        Assert.Equal(["layer2_1_bn2", "layer2_1_down_bn"], summary["layer2_1_add"].Inputs);
        Assert.Equal([512, 4, 4], summary["layer4_2_relu2"].OutputShape.Dimensions.ToArray());
    }

    [Fact]
    public void ANarrowResNet18TrainsThroughTheTrainer()
    {
        // Four classes of 3x16x16 images: a bright square in one of the four quadrants, in a class-specific colour channel mix.
        var r = new Random(5);
        int n = 96;
        var images = new float[n * 3 * 256];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int k = labels[i] = i % 4;
            for (int p = 0; p < 3 * 256; p++) images[i * 768 + p] = (float)r.NextDouble() * 0.3f;
            int oy = k / 2 * 8 + 2, ox = k % 2 * 8 + 2;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 4; y++)
                    for (int x = 0; x < 4; x++) images[i * 768 + c * 256 + (oy + y) * 16 + ox + x] += c == k % 3 ? 0.8f : 0.3f;
        }
        var data = new ConvNet.Gpu.Data.Dataset(images, labels, Shapes.Image(3, 16, 16), ["tl", "tr", "bl", "br"], "synthetic quadrants");
        using var model = ResNet.ResNet18(_b, Shapes.Image(3, 16, 16), classes: 4, seed: 3, width: 8);
        using var adam = new Adam(0.01f);
        using var trainer = new Trainer(model, adam);
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 4, BatchSize = 16, Seed = 1, Divergence = DivergencePolicy.NonFiniteOnly });
        Assert.True(history.Epochs[^1].TrainLoss < 0.5 * history.Epochs[0].TrainLoss,
            $"loss {history.Epochs[0].TrainLoss:F3} -> {history.Epochs[^1].TrainLoss:F3}");
        Assert.True(trainer.Evaluate(data).Accuracy > 0.9, "a graph model with skip connections learns the task");
    }
}
