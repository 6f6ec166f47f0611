using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Models;

/// <summary>The library's models by name: the CLI's list, any input shape and class count, typed errors.</summary>
public sealed class ModelRegistryTests : IDisposable
{
    private readonly IBackend _backend = Backend.Cpu(2);

    public void Dispose() => _backend.Dispose();

    [Fact]
    public void TheClassifiersAreTheCliModelsInOrder()
    {
        Assert.Equal(["lenet5", "lenet5-classic", "vgg-small", "resnet-small"],
            ModelRegistry.All.Where(e => e.Task == ModelTask.Classification).Select(e => e.Name).Take(4));
        Assert.Equal(ModelRegistry.All.Select(e => e.Name), ModelRegistry.Names);
    }

    [Fact]
    public void EveryModelBuildsForItsDefaultShapeAndForAnother()
    {
        foreach (var entry in ModelRegistry.All)
        {
            using var model = ModelRegistry.Create(entry.Name, _backend, entry.DefaultInputShape, 7, seed: 1);
            Assert.True(model.InputShape.SameDimensions(entry.DefaultInputShape), entry.Name);
            int[] expected = entry.Task == ModelTask.Classification ? [7] : [7, entry.DefaultInputShape[1], entry.DefaultInputShape[2]];
            Assert.Equal(expected, model.OutputShape.Dimensions.ToArray());
            var other = Shapes.Image(3, entry.DefaultInputShape[1] + 8, entry.DefaultInputShape[2] + 8);
            using var bigger = ModelRegistry.Create(entry.Name, _backend, other, 5, seed: 1);
            Assert.True(bigger.InputShape.SameDimensions(other), entry.Name);
        }
    }

    [Fact]
    public void ModernLeNet5OnThreeChannel32x32CountsItsParameters()
    {
        // conv1 3->6 5x5: 6*(75+1) = 456; conv2 6->16: 2,416; 32 -> 16 -> 12 -> 6, so fc1 takes 16*6*6 = 576:
        // 576*120+120 = 69,240; fc2 10,164; fc3 84*4+4 = 340.
        using var model = ConvNet.Gpu.Models.LeNet5(_backend, Shapes.Image(3, 32, 32), classes: 4);
        Assert.Equal(456 + 2416 + 69240 + 10164 + 340, model.TrainableParameterCount);
    }

    [Fact]
    public void UnknownNamesAndBadShapesAreTypedErrors()
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => ModelRegistry.Create("alexnet", _backend, Shapes.Image(1, 28, 28), 10));
        Assert.Contains("Unknown model 'alexnet'. Valid models: lenet5, lenet5-classic, vgg-small, resnet-small", e.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ConvNetArgumentException>(() => ModelRegistry.Create("lenet5", _backend, Shapes.Image(1, 6, 6), 10));
        Assert.ThrowsAny<ConvNetArgumentException>(() => ModelRegistry.Create("lenet5", _backend, Shapes.Image(1, 28, 28), 0));
    }
}
