using System.Text.Json.Nodes;
using ConvNet.Gpu.Optimizers;
using Xunit;

namespace ConvNet.Gpu.Tests.Optimizers;

/// <summary>Optimizers by preset name, and the saved configuration of each rebuilding the same optimizer.</summary>
public sealed class OptimizerRegistryTests
{
    [Fact]
    public void PresetsAreTheDocumentedOptimizers()
    {
        Assert.Equal(["adam", "sgd", "adamw"], OptimizerRegistry.Names);
        using var sgd = Assert.IsType<Sgd>(OptimizerRegistry.Create("sgd", 0.05f));
        Assert.Equal((0.05f, 0.9f, false, 0f), (sgd.LearningRate, sgd.Momentum, sgd.Nesterov, sgd.WeightDecay));
        using var adam = Assert.IsType<Adam>(OptimizerRegistry.Create("adam", 2e-3f));
        Assert.Equal((2e-3f, false), (adam.LearningRate, adam.DecoupledWeightDecay));
        using var adamw = Assert.IsType<AdamW>(OptimizerRegistry.Create("adamw", 1e-3f));
        Assert.Equal(0.01f, adamw.WeightDecay);
        Assert.Equal(0.05, OptimizerRegistry.DefaultLearningRate("sgd"));
        Assert.Equal(1e-3, OptimizerRegistry.DefaultLearningRate("adam"));
        var e = Assert.Throws<ConvNetArgumentException>(() => OptimizerRegistry.Create("rmsprop", 0.1f));
        Assert.Contains("Unknown optimizer 'rmsprop'. Valid optimizers: adam, sgd, adamw.", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Configurations => new()
    {
        "sgd", "sgd-nesterov", "adam", "adamw",
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void AConfigurationRebuildsTheSameOptimizer(string which)
    {
        using Optimizer original = which switch
        {
            "sgd" => new Sgd(0.03f, momentum: 0.5f, weightDecay: 1e-4f),
            "sgd-nesterov" => new Sgd(0.02f, momentum: 0.9f, nesterov: true),
            "adam" => new Adam(3e-4f, beta1: 0.8f, beta2: 0.99f, epsilon: 1e-6f, weightDecay: 2e-4f),
            _ => new AdamW(5e-4f, weightDecay: 0.05f),
        };
        string json = original.GetConfig().ToJsonString();
        using var fromText = OptimizerConfig.Create((JsonObject)JsonNode.Parse(json)!);
        Assert.Equal(original.GetType(), fromText.GetType());
        Assert.Equal(json, fromText.GetConfig().ToJsonString());
    }
}
