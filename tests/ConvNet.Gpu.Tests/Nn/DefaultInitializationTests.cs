using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// The default initialization of the learned layers is PyTorch's: weights and biases U(-1/sqrt(fanIn), 1/sqrt(fanIn))
/// (kaiming_uniform_(a=sqrt(5)) for the weight, the same bound for the bias), with PyTorch's fan-in.
/// </summary>
public sealed class DefaultInitializationTests
{
    [Theory]
    [InlineData(25)]
    [InlineData(400)]
    [InlineData(1)]
    public void FanInUniformHasBoundOneOverSqrtFanInAndItsVariance(int fanIn)
    {
        var init = Initializer.FromName("fan_in_uniform");
        Assert.Same(Initializer.FanInUniform, init);
        var a = new float[40000];
        var b = new float[40000];
        init.Fill(a, fanIn, 7, new HostRandom(11));
        init.Fill(b, fanIn, 7, new HostRandom(11));
        Assert.Equal(a, b);
        double bound = 1.0 / Math.Sqrt(fanIn);
        Assert.All(a, v => Assert.True(Math.Abs(v) <= bound, $"{v} outside +-{bound}"));
        double mean = a.Average(v => (double)v);
        double variance = a.Average(v => (v - mean) * (v - mean));
        double expected = bound * bound / 3; // U(-b, b) has variance b^2 / 3
        Assert.True(Math.Abs(mean) < 4 * Math.Sqrt(expected / a.Length), $"mean {mean}");
        Assert.True(Math.Abs(variance / expected - 1) < 0.03, $"variance {variance}, expected {expected}");
        Assert.True(a.Max() > 0.99 * bound && a.Min() < -0.99 * bound, "the draws should reach the bound");
    }

    public static TheoryData<string> Layers => ["conv", "dense", "conv_transpose"];

    [Theory]
    [MemberData(nameof(Layers))]
    public void LearnedLayersDefaultToPyTorchsInitializationWithItsFanIn(string kind)
    {
        using var backend = Backend.Cpu(1);
        // PyTorch's fan-in: Conv2d weight (K, C, kh, kw) -> C*kh*kw; Linear (out, in) -> in; ConvTranspose2d weight
        // (Cin, Cout, kh, kw) -> Cout*kh*kw (size(1) times the receptive field).
        (Layer layer, TensorShape input, int fanIn, bool biasDrawn) = kind switch
        {
            "conv" => ((Layer)new Conv2D(16, kernelSize: 5), new TensorShape([6, 12, 12], ["C", "H", "W"]), 6 * 25, true),
            "dense" => (new Dense(120), TensorShape.Vector(400), 400, true),
            _ => (new ConvTranspose2D(8, kernelSize: 2, stride: 2), new TensorShape([4, 6, 6], ["C", "H", "W"]), 8 * 4, false),
        };
        using var _ = layer;
        layer.Build(backend, input, seed: 3);
        double bound = 1.0 / Math.Sqrt(fanIn);
        var weight = layer.Parameters.Single(p => p.Name == "weight").Value.ToArray();
        Assert.All(weight, v => Assert.True(Math.Abs(v) <= bound, $"{kind} weight {v} outside +-{bound}"));
        Assert.True(weight.Max(Math.Abs) > 0.9 * bound, $"{kind}: weights should spread to the bound {bound}, max {weight.Max(Math.Abs)}");
        var bias = layer.Parameters.Single(p => p.Name == "bias").Value.ToArray();
        if (biasDrawn)
        {
            Assert.All(bias, v => Assert.True(Math.Abs(v) <= bound, $"{kind} bias {v} outside +-{bound}"));
            Assert.Contains(bias, v => v != 0f);
        }
        else
        {
            Assert.All(bias, v => Assert.Equal(0f, v));
        }
        Assert.Equal("fan_in_uniform", layer.GetConfig()["weight_initializer"]!.GetValue<string>());
    }
}
