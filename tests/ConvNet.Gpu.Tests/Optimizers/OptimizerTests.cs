using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using Xunit;

namespace ConvNet.Gpu.Tests.Optimizers;

/// <summary>Optimizer steps against sequences computed by hand from the published update rules.</summary>
public sealed class OptimizerTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly Dense _layer;

    public OptimizerTests()
    {
        // A dense layer 2 -> 1 without bias: its weight is the parameter vector p = [1, -2].
        _layer = new Dense(1, useBias: false);
        _layer.Build(_b, Shapes.Features(2), 1);
        _layer.Weight.Value.Upload([1f, -2f]);
    }

    public void Dispose()
    {
        _layer.Dispose();
        _b.Dispose();
    }

    /// <summary>Runs <paramref name="steps"/> steps with the constant gradient g = [0.5, 0.25] and returns p after each.</summary>
    private List<float[]> Run(Optimizer opt, int steps)
    {
        var trace = new List<float[]>();
        for (int i = 0; i < steps; i++)
        {
            _layer.Weight.Gradient.Upload([0.5f, 0.25f]);
            opt.Step(_layer.Parameters);
            trace.Add(_layer.Weight.Value.ToArray());
        }
        return trace;
    }

    private static void Near(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public void SgdWithMomentum()
    {
        using var opt = new Sgd(0.1f, momentum: 0.9f);
        var t = Run(opt, 2);
        // v1 = g, p1 = p0 - 0.1 g; v2 = 0.9 g + g = 1.9 g, p2 = p1 - 0.19 g.
        Near([0.95f, -2.025f], t[0]);
        Near([0.855f, -2.0725f], t[1]);
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void SgdWithNesterov()
    {
        using var opt = new Sgd(0.1f, momentum: 0.9f, nesterov: true);
        var t = Run(opt, 2);
        // Step 1: v = g, update g + 0.9 v = 1.9 g. Step 2: v = 1.9 g, update g + 0.9 * 1.9 g = 2.71 g.
        Near([1f - 0.095f, -2f - 0.0475f], t[0]);
        Near([0.905f - 0.1355f, -2.0475f - 0.06775f], t[1]);
    }

    [Fact]
    public void SgdWithWeightDecay()
    {
        using var opt = new Sgd(0.1f, weightDecay: 0.1f);
        var t = Run(opt, 2);
        // g' = g + 0.1 p: step 1 [0.6, 0.05] -> p [0.94, -2.005]; step 2 [0.594, 0.0495] -> [0.8806, -2.00995].
        Near([0.94f, -2.005f], t[0]);
        Near([0.8806f, -2.00995f], t[1]);
    }

    [Fact]
    public void AdamMovesByTheLearningRateUnderAConstantGradient()
    {
        using var opt = new Adam(0.1f);
        var t = Run(opt, 3);
        // With a constant gradient the bias-corrected m/sqrt(v) is sign(g), so each step moves by lr.
        Near([0.9f, -2.1f], t[0]);
        Near([0.8f, -2.2f], t[1]);
        Near([0.7f, -2.3f], t[2]);
    }

    [Fact]
    public void AdamWDecaysTheWeightsBeforeTheAdamStep()
    {
        using var opt = new AdamW(0.1f, weightDecay: 0.1f);
        var t = Run(opt, 2);
        // p *= 1 - lr*wd = 0.99, then p -= 0.1 sign(g).
        Near([0.99f - 0.1f, -1.98f - 0.1f], t[0]);
        Near([0.89f * 0.99f - 0.1f, -2.08f * 0.99f - 0.1f], t[1]);
    }

    [Fact]
    public void StepAndCosineSchedules()
    {
        var step = LearningRateSchedule.Step(2, 0.5f);
        Assert.Equal([1f, 1f, 0.5f, 0.5f, 0.25f], Enumerable.Range(0, 5).Select(e => step.RateAt(e, 1f)).ToArray());
        var cosine = LearningRateSchedule.Cosine(4);
        float[] expected = [1f, 0.85355339f, 0.5f, 0.14644661f, 0f, 0f];
        for (int e = 0; e < expected.Length; e++) Assert.Equal(expected[e], cosine.RateAt(e, 1f), 6);
        Assert.Equal(0.3f, LearningRateSchedule.Constant.RateAt(7, 0.3f));
    }

    [Theory]
    [InlineData("he_uniform", 50, 20)]
    [InlineData("he_normal", 50, 20)]
    [InlineData("glorot_uniform", 30, 70)]
    [InlineData("glorot_normal", 30, 70)]
    public void InitializersHaveTheirVarianceAndAreSeeded(string name, int fanIn, int fanOut)
    {
        var init = Initializer.FromName(name);
        var a = new float[20000];
        var b = new float[20000];
        var c = new float[20000];
        init.Fill(a, fanIn, fanOut, new HostRandom(5));
        init.Fill(b, fanIn, fanOut, new HostRandom(5));
        init.Fill(c, fanIn, fanOut, new HostRandom(6));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        double variance = name.StartsWith("he", StringComparison.Ordinal) ? 2.0 / fanIn : 2.0 / (fanIn + fanOut);
        double mean = a.Average(v => (double)v);
        double var = a.Average(v => (v - mean) * (v - mean));
        Assert.True(Math.Abs(mean) < 0.05 * Math.Sqrt(variance) * 4, $"{name}: mean {mean}");
        Assert.True(Math.Abs(var / variance - 1) < 0.05, $"{name}: variance {var}, expected {variance}");
        if (name.EndsWith("uniform", StringComparison.Ordinal))
            Assert.All(a, v => Assert.True(Math.Abs(v) <= Math.Sqrt(3 * variance)));
    }
}
