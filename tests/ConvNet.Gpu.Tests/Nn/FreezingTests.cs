using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// Freezing (<see cref="Layer.Trainable"/> false): frozen weights stay bit-identical through training, get no gradient
/// and no optimizer state, frozen batch norm normalizes with its running statistics, and a frozen prefix is not
/// back-propagated through at all.
/// </summary>
public sealed class FreezingTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    private static float[] Bits(Model model, string layer) =>
        model.NamedParameters.Where(p => p.Key.Contains($":{layer}/", StringComparison.Ordinal)).SelectMany(p => p.Parameter.Value.ToArray()).ToArray();

    private static float[] StateBits(Model model, string layer) =>
        model.NamedState.Where(s => s.Key.Contains($":{layer}/", StringComparison.Ordinal)).SelectMany(s => s.State.Value.ToArray()).ToArray();

    private Model TransferModel()
    {
        // A "pretrained" trunk (stem conv + batch norm + a residual block) frozen, and a trainable head.
        var x = Model.Input((1, 8, 8), "image");
        var stem = new Conv2D(4, 3, padding: 1, name: "stem") { Trainable = false };
        var bn = new BatchNorm2D(name: "stem_bn") { Trainable = false };
        var block = new Residual([new Conv2D(4, 3, padding: 1, name: "c1"), new ReLU("r1")], name: "block") { Trainable = false };
        var h = new ReLU("stem_relu").Call(bn.Call(stem.Call(x)));
        h = block.Call(h);
        h = new Conv2D(6, 3, padding: 1, name: "head_conv").Call(h);
        var y = new Dense(3, name: "head_fc").Call(new GlobalAvgPool2D("gap").Call(new ReLU("head_relu").Call(h)));
        return new Model(_b, x, y, seed: 4, name: "transfer");
    }

    [Fact]
    public void FrozenWeightsAreBitIdenticalAfterTrainingAndGetNoGradientOrOptimizerState()
    {
        using var model = TransferModel();
        // Move the running statistics away from (0, 1) so a frozen batch norm visibly uses them.
        var bn = (BatchNorm2D)model.Layers.Single(l => l.Name == "stem_bn");
        bn.RunningMean.Upload([0.1f, -0.2f, 0.3f, 0f]);
        bn.RunningVariance.Upload([0.5f, 2f, 1.5f, 1f]);
        string[] frozen = ["stem", "stem_bn", "block"];
        var before = frozen.ToDictionary(n => n, n => Bits(model, n));
        var stateBefore = StateBits(model, "stem_bn");
        var headBefore = Bits(model, "head_conv");

        using var adam = new Adam(0.02f);
        using var trainer = new Trainer(model, adam);
        var history = trainer.Fit(SyntheticData.Squares(64, 1), new TrainingOptions { Epochs = 3, BatchSize = 16, Seed = 2 });
        Assert.True(history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss, "the head learns");

        foreach (var name in frozen) Assert.Equal(before[name], Bits(model, name)); // bit for bit
        Assert.Equal(stateBefore, StateBits(model, "stem_bn"));                     // running statistics untouched
        Assert.NotEqual(headBefore, Bits(model, "head_conv"));
        var frozenParameters = model.NamedParameters.Where(p => frozen.Any(f => p.Key.Contains($":{f}/", StringComparison.Ordinal))).ToList();
        Assert.Equal(2 + 2 + 2, frozenParameters.Count);                             // stem w, b; bn gamma, beta; block conv w, b
        Assert.All(frozenParameters, p => Assert.False(p.Parameter.HasGradient, $"{p.Key} was differentiated"));
        Assert.Equal(4, model.Parameters.Count);                                     // head conv w, b; head fc w, b
        Assert.Equal(4, adam.State.Count);
        long frozenCount = frozenParameters.Sum(p => p.Parameter.Count);
        Assert.Equal(6 * 4 * 9 + 6 + 6 * 3 + 3, model.TrainableParameterCount);
        var summary = model.Summary();
        Assert.Equal(frozenCount + 8, summary.NonTrainableParameters);              // frozen weights + the running statistics
    }

    [Fact]
    public void FrozenBatchNormNormalizesWithItsRunningStatisticsInTraining()
    {
        var x = Model.Input(Shapes.Features(2), "x");
        var bn = new BatchNorm2D(epsilon: 1e-5f, name: "bn") { Trainable = false };
        // A trainable layer after it, so the frozen layer's input gradient is still asked for by nothing: put one before it.
        var pre = new Dense(2, useBias: false, name: "pre");
        using var model = new Model(_b, x, bn.Call(pre.Call(x)));
        pre.Weight.Value.Upload([1f, 0f, 0f, 1f]); // identity, so the batch norm sees x
        bn.Gamma.Value.Upload([2f, -1f]);
        bn.Beta.Value.Upload([0.5f, 0.25f]);
        bn.RunningMean.Upload([1f, -1f]);
        bn.RunningVariance.Upload([4f, 0.25f]);
        using var input = _b.Allocate(TensorShape.Matrix(3, 2));
        var xs = new float[] { 1, 2, 3, -4, -1, 0.5f };
        input.Upload(xs);
        var y = model.Forward(input, training: true).ToArray();
        var expected = new double[6];
        double[] gamma = [2, -1], beta = [0.5, 0.25], mean = [1, -1], variance = [4, 0.25];
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 2; c++)
                expected[n * 2 + c] = gamma[c] * (xs[n * 2 + c] - mean[c]) / Math.Sqrt(variance[c] + 1e-5) + beta[c];
        TensorAssert.Close(y, expected, Tolerance.Float32VsFloat64, null, "frozen batch norm output");
        Assert.Equal([1f, -1f], bn.RunningMean.ToArray());
        // Backward: dx = dy * gamma / sqrt(var + eps); the identity Dense before it receives exactly that as dW's source.
        using var g = _b.Allocate(TensorShape.Matrix(3, 2));
        var gs = new float[] { 0.5f, -1, 2, 1, -0.25f, 0.75f };
        g.Upload(gs);
        model.Backward(g);
        var dW = new double[4];
        for (int n = 0; n < 3; n++)
            for (int o = 0; o < 2; o++)
                for (int k = 0; k < 2; k++)
                    dW[o * 2 + k] += gs[n * 2 + o] * gamma[o] / Math.Sqrt(variance[o] + 1e-5) * xs[n * 2 + k];
        TensorAssert.Close(pre.Weight.Gradient, dW, Tolerance.Float32VsFloat64, "gradient through the frozen batch norm");
        Assert.False(bn.Gamma.HasGradient);
    }

    [Fact]
    public void AFrozenPrefixIsNotBackPropagatedThrough()
    {
        using var model = new Sequential(_b, (1, 6, 6), seed: 2)
            .Add(new Conv2D(2, 3, padding: 1, name: "frozen1") { Trainable = false }, new ReLU("relu"),
                new Conv2D(2, 3, padding: 1, name: "frozen2") { Trainable = false }, new Flatten("flat"), new Dense(2, name: "fc"));
        using var input = _b.Allocate(TensorShape.Nchw(2, 1, 6, 6));
        input.Upload(Enumerable.Range(0, 72).Select(i => (float)Math.Sin(i)).ToArray());
        var y = model.Forward(input, training: true);
        using var g = _b.Allocate(y.Shape);
        g.Upload([1f, -1f, 0.5f, 0.25f]);
        model.Backward(g);
        Assert.False(model.Layers[2].RequiresInputGradient);  // frozen2: nothing before it learns
        Assert.False(model.Layers[4].RequiresInputGradient);  // fc: its input depends on no trainable parameter
        Assert.True(model.Layers[4].Parameters[0].HasGradient);
        Assert.All(model.Layers.Take(3).SelectMany(l => l.Parameters), p => Assert.False(p.HasGradient));
    }

    [Fact]
    public void FreezingABlockFreezesEveryLayerInside()
    {
        var block = new Residual([new Conv2D(2, 3, padding: 1), new BatchNorm2D()], projection: true, projectionStride: 1) { Trainable = false };
        using var model = new Sequential(_b, (3, 4, 4)).Add(block, new Flatten(), new Dense(2));
        Assert.All(block.Children, c => Assert.False(c.Trainable));
        Assert.Equal(2 * 32 + 2, model.TrainableParameterCount);
        block.Trainable = true;
        Assert.All(block.Children, c => Assert.True(c.Trainable));
    }
}
