using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Models;

/// <summary>
/// Parameter counts and output shapes of the ready-made models, computed by hand from the seed notes
/// (worked-examples.md §9 and seed 003) rather than from the code.
/// </summary>
public sealed class ModelSummaryTests : IDisposable
{
    private readonly IBackend _backend = Backend.Cpu(2);

    public void Dispose() => _backend.Dispose();

    private static void AssertRow(ModelSummary s, string name, long parameters, params int[] shape)
    {
        var row = s[name];
        Assert.Equal(parameters, row.TrainableParameters);
        Assert.Equal(shape, row.OutputShape.Dimensions.ToArray());
    }

    [Fact]
    public void ClassicLeNet5MatchesTheSeedCounts()
    {
        using var model = ConvNet.Gpu.Models.LeNet5Classic(_backend);
        var s = model.Summary();
        AssertRow(s, "c1", 6 * (25 + 1), 6, 28, 28);                                         // 156
        AssertRow(s, "s2", 2 * 6, 6, 14, 14);                                                // 12
        AssertRow(s, "c3", 6 * (3 * 25 + 1) + 6 * (4 * 25 + 1) + 3 * (4 * 25 + 1) + (6 * 25 + 1), 16, 10, 10); // 1516
        AssertRow(s, "s4", 2 * 16, 16, 5, 5);                                                // 32
        AssertRow(s, "c5", 120 * (16 * 25 + 1), 120, 1, 1);                                  // 48120
        AssertRow(s, "f6", (120 + 1) * 84, 84);                                              // 10164
        AssertRow(s, "output", 84 * 10 + 10, 10);                                            // 850
        Assert.Equal(156, s["c1"].TrainableParameters);
        Assert.Equal(1516, s["c3"].TrainableParameters);
        Assert.Equal(48120, s["c5"].TrainableParameters);
        Assert.Equal(10164, s["f6"].TrainableParameters);
        Assert.Equal(156 + 12 + 1516 + 32 + 48120 + 10164 + 850, s.TrainableParameters);
        Assert.Equal(0, s.NonTrainableParameters);
    }

    [Fact]
    public void ModernLeNet5Has61706Parameters()
    {
        using var model = ConvNet.Gpu.Models.LeNet5(_backend);
        var s = model.Summary();
        AssertRow(s, "conv1", 156, 6, 28, 28);
        AssertRow(s, "pool1", 0, 6, 14, 14);
        AssertRow(s, "conv2", 16 * (6 * 25 + 1), 16, 10, 10);   // 2416
        AssertRow(s, "pool2", 0, 16, 5, 5);
        AssertRow(s, "flatten", 0, 400);
        AssertRow(s, "fc1", 400 * 120 + 120, 120);               // 48120
        AssertRow(s, "fc2", 120 * 84 + 84, 84);                  // 10164
        AssertRow(s, "fc3", 84 * 10 + 10, 10);                   // 850
        Assert.Equal(61706, s.TrainableParameters);
        Assert.Equal(61706, s.TotalParameters);
        string table = s.ToString();
        Assert.Contains("Total params: 61,706", table, StringComparison.Ordinal);
        Assert.Contains("(None, 6, 28, 28)", table, StringComparison.Ordinal);
        // Aligned: the shape column starts at the same offset on every layer row.
        var rows = table.Split('\n').Where(l => l.Contains("(None", StringComparison.Ordinal) && !l.StartsWith("Model", StringComparison.Ordinal)).ToList();
        Assert.Equal(12, rows.Count);
        Assert.Single(rows.Select(r => r.IndexOf("(None", StringComparison.Ordinal)).Distinct());
    }

    [Fact]
    public void VggSmallCounts()
    {
        using var model = ConvNet.Gpu.Models.VggSmall(_backend);
        var s = model.Summary();
        AssertRow(s, "block1_conv1", 1 * 32 * 9, 32, 28, 28);
        AssertRow(s, "block1_bn1", 2 * 32, 32, 28, 28);
        Assert.Equal(2 * 32, s["block1_bn1"].NonTrainableParameters);
        AssertRow(s, "block1_conv2", 32 * 32 * 9, 32, 28, 28);
        AssertRow(s, "block1_pool", 0, 32, 14, 14);
        AssertRow(s, "block2_conv1", 32 * 64 * 9, 64, 14, 14);
        AssertRow(s, "block2_conv2", 64 * 64 * 9, 64, 14, 14);
        AssertRow(s, "block2_pool", 0, 64, 7, 7);
        AssertRow(s, "flatten", 0, 3136);
        AssertRow(s, "fc1", 3136 * 128 + 128, 128);
        AssertRow(s, "output", 128 * 10 + 10, 10);
        long trainable = 288 + 64 + 9216 + 64 + 18432 + 128 + 36864 + 128 + 401536 + 1290;
        Assert.Equal(trainable, s.TrainableParameters);
        Assert.Equal(64 + 64 + 128 + 128, s.NonTrainableParameters);
    }

    [Fact]
    public void ResNetSmallCounts()
    {
        using var model = ConvNet.Gpu.Models.ResNetSmall(_backend);
        var s = model.Summary();
        AssertRow(s, "stem_conv", 16 * 9, 16, 28, 28);
        AssertRow(s, "res1", 2 * (16 * 16 * 9 + 32), 16, 28, 28);
        // conv 16->32 stride 2, BN, conv 32->32, BN, projection 1x1 16->32 with bias.
        AssertRow(s, "res2", 16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32 + 32, 32, 14, 14);
        AssertRow(s, "res3", 32 * 64 * 9 + 128 + 64 * 64 * 9 + 128 + 32 * 64 + 64, 64, 7, 7);
        AssertRow(s, "gap", 0, 64);
        AssertRow(s, "output", 64 * 10 + 10, 10);
        Assert.Equal(144 + 32 + 4672 + 14496 + 57664 + 650, s.TrainableParameters);
        Assert.Equal(32 + 64 + 128 + 256, s.NonTrainableParameters);
        // Nested rows follow their block and are not double-counted in the totals.
        Assert.Contains(s.Rows, r => r.Depth == 1 && r.Name == "res2/projection" && r.TrainableParameters == 16 * 32 + 32);
    }

    [Fact]
    public void AddingALayerThatDoesNotFitNamesTheLayerAndShapes()
    {
        using var model = new Sequential(_backend, (1, 4, 4));
        model.Add(new Conv2D(2, 3));
        var e = Assert.Throws<InvalidGeometryException>(() => model.Add(new Conv2D(2, 5, name: "too_big")));
        Assert.Contains("too_big", e.Message, StringComparison.Ordinal);
        Assert.Contains("(C=2, H=2, W=2)", e.Message, StringComparison.Ordinal);
        var flat = Assert.Throws<ShapeMismatchException>(() => model.Add(new Flatten(), new MaxPool2D(2, name: "pool_after_flatten")));
        Assert.Contains("pool_after_flatten", flat.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ArchitectureJsonRebuildsTheSameModel()
    {
        foreach (var factory in new Func<IBackend, Sequential>[]
                 {
                     b => ConvNet.Gpu.Models.LeNet5Classic(b), b => ConvNet.Gpu.Models.LeNet5(b),
                     b => ConvNet.Gpu.Models.VggSmall(b), b => ConvNet.Gpu.Models.ResNetSmall(b),
                 })
        {
            using var model = factory(_backend);
            string json = model.ToJson();
            using var rebuilt = Sequential.FromJson(json, _backend);
            Assert.Equal(json, rebuilt.ToJson());
            Assert.Equal(model.Summary().ToString(), rebuilt.Summary().ToString());
            // Same seed, same initial weights.
            var a = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
            var b = rebuilt.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void ConvTransposeAndUpsampleRoundTripThroughJson()
    {
        using var model = new Sequential(_backend, (2, 5, 5))
            .Add(new ConvTranspose2D(3, 3, stride: 2, padding: 1, outputPadding: 1), new LeakyReLU(0.2f), new Upsample2D(2),
                new AvgPool2D(2), new ELU(0.5f), new Sigmoid(), new GlobalAvgPool2D(), new Dropout(0.3f, seed: 5), new Dense(4), new Softmax());
        Assert.Equal([3, 10, 10], model.Layers[0].OutputShape.Dimensions.ToArray());
        using var rebuilt = Sequential.FromJson(model.ToJson(), _backend);
        Assert.Equal(model.ToJson(), rebuilt.ToJson());
    }
}
