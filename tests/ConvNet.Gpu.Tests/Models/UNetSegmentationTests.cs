using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Models;

/// <summary>
/// The small U-Net learns a synthetic segmentation task generated here: 16x16 images holding one rectangle or disk
/// (brighter than the background) plus salt-and-pepper noise (bright specks in the background, dark ones inside the
/// shape), so that no per-pixel threshold segments them and the network has to use context. Trained with per-pixel
/// binary cross-entropy through <see cref="Trainer.TrainStep(Tensor, Tensor, NonFiniteLossPolicy)"/>; judged by the
/// intersection over union of the foreground on held-out images, computed here from the logits (logit &gt; 0). Stated
/// target: IoU above 0.9 (measured 0.94 after 12 epochs of 256 images; the best per-pixel threshold gets 0.69).
/// </summary>
public sealed class UNetSegmentationTests : IDisposable
{
    private const int Size = 16;
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    /// <summary><paramref name="count"/> images (count, 1, 16, 16) and their masks (count, 1, 16, 16) of 0 and 1.</summary>
    internal static (float[] Images, float[] Masks) Shapes(int count, int seed)
    {
        var r = new Random(seed);
        var images = new float[count * Size * Size];
        var masks = new float[count * Size * Size];
        for (int n = 0; n < count; n++)
        {
            var img = images.AsSpan(n * Size * Size, Size * Size);
            var mask = masks.AsSpan(n * Size * Size, Size * Size);
            bool disk = r.Next(2) == 0;
            int cy = r.Next(4, 12), cx = r.Next(4, 12), hy = r.Next(2, 5), hx = r.Next(2, 5), radius = r.Next(3, 6);
            for (int y = 0; y < Size; y++)
                for (int x = 0; x < Size; x++)
                {
                    bool inside = disk ? (y - cy) * (y - cy) + (x - cx) * (x - cx) <= radius * radius
                        : Math.Abs(y - cy) <= hy && Math.Abs(x - cx) <= hx;
                    mask[y * Size + x] = inside ? 1 : 0;
                    float v = (float)r.NextDouble() * 0.3f + (inside ? 0.5f : 0f);
                    if (r.NextDouble() < 0.08) v = inside ? 0.05f : 0.95f; // specks that defeat a threshold
                    img[y * Size + x] = v;
                }
        }
        return (images, masks);
    }

    internal static double IoU(float[] logits, float[] masks)
    {
        long intersection = 0, union = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            bool p = logits[i] > 0, t = masks[i] > 0.5f;
            if (p && t) intersection++;
            if (p || t) union++;
        }
        return (double)intersection / union;
    }

    [Fact]
    public void APerPixelThresholdCannotSolveTheTask()
    {
        // The oracle threshold between background (up to 0.3) and shape (from 0.5) still misses every speck: IoU 0.69.
        var (images, masks) = Shapes(200, 2);
        double iou = IoU(images.Select(v => v - 0.4f).ToArray(), masks);
        Assert.True(iou < 0.75, $"threshold IoU {iou:F4}");
    }

    [Fact]
    public void TheSmallUNetReachesAnIoUAbove0Point9OnHeldOutImages()
    {
        const int train = 256, test = 64, batch = 16;
        var (images, masks) = Shapes(train, 1);
        var (testImages, testMasks) = Shapes(test, 99);
        using var model = ConvNet.Gpu.Models.UNet(_b, ConvNet.Gpu.Nn.Shapes.Image(1, Size, Size), classes: 1, seed: 7, baseFilters: 8, depth: 2);
        Assert.Equal(Model.GraphFormat, model.GetArchitecture()["format"]!.GetValue<string>());
        using var loss = new BinaryCrossEntropyWithLogitsLoss();
        using var adam = new Adam(0.01f);
        using var trainer = new Trainer(model, adam, loss);
        Assert.IsType<BinaryAccuracy>(trainer.Accuracy);
        using var x = _b.Allocate(TensorShape.Nchw(batch, 1, Size, Size));
        using var y = _b.Allocate(TensorShape.Nchw(batch, 1, Size, Size));
        int pixels = Size * Size;
        var order = Enumerable.Range(0, train).ToArray();
        var shuffle = new Random(3);
        float firstLoss = float.NaN, lastLoss = float.NaN;
        for (int epoch = 0; epoch < 12; epoch++)
        {
            shuffle.Shuffle(order);
            for (int start = 0; start < train; start += batch)
            {
                var xs = new float[batch * pixels];
                var ys = new float[batch * pixels];
                for (int i = 0; i < batch; i++)
                {
                    images.AsSpan(order[start + i] * pixels, pixels).CopyTo(xs.AsSpan(i * pixels));
                    masks.AsSpan(order[start + i] * pixels, pixels).CopyTo(ys.AsSpan(i * pixels));
                }
                x.Upload(xs);
                y.Upload(ys);
                var step = trainer.TrainStep(x, y);
                if (float.IsNaN(firstLoss)) firstLoss = step.Loss;
                lastLoss = step.Loss;
            }
        }
        using var testInput = _b.Allocate(TensorShape.Nchw(test, 1, Size, Size));
        testInput.Upload(testImages);
        var logits = model.Forward(testInput, training: false).ToArray();
        double iou = IoU(logits, testMasks);
        Assert.True(lastLoss < 0.25 * firstLoss, $"loss {firstLoss:F4} -> {lastLoss:F4}");
        Assert.True(iou > 0.9, $"held-out IoU {iou:F4}");
    }
}
