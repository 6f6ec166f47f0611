using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu;

/// <summary>
/// Ready-made models, built on any backend: the entry point to <see cref="ModelZoo.ClassicModels"/> and
/// <see cref="ModelRegistry"/> (models by name). The overloads without an input shape build for 28x28 single-channel
/// images (MNIST, Fashion-MNIST). Every model ends in logits (train with <c>SoftmaxCrossEntropyLoss</c>; prediction
/// applies the softmax).
/// </summary>
public static class Models
{
    /// <summary>LeNet-5 as in LeCun et al. (1998) for 1x28x28 inputs; see <see cref="ClassicModels.LeNet5Classic"/>.</summary>
    public static Sequential LeNet5Classic(IBackend backend, int classes = 10, ulong seed = 42) =>
        ClassicModels.LeNet5Classic(backend, Mnist, classes, seed);

    /// <summary>LeNet-5 as in LeCun et al. (1998) for any image input; see <see cref="ClassicModels.LeNet5Classic"/>.</summary>
    public static Sequential LeNet5Classic(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42) =>
        ClassicModels.LeNet5Classic(backend, inputShape, classes, seed);

    /// <summary>The modern LeNet-5 for 1x28x28 inputs (61,706 parameters for 10 classes); see <see cref="ClassicModels.LeNet5"/>.</summary>
    public static Sequential LeNet5(IBackend backend, int classes = 10, ulong seed = 42) =>
        ClassicModels.LeNet5(backend, Mnist, classes, seed);

    /// <summary>The modern LeNet-5 for any image input; see <see cref="ClassicModels.LeNet5"/>.</summary>
    public static Sequential LeNet5(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42) =>
        ClassicModels.LeNet5(backend, inputShape, classes, seed);

    /// <summary>A small VGG-style network for 1x28x28 inputs; see <see cref="ClassicModels.VggSmall"/>.</summary>
    public static Sequential VggSmall(IBackend backend, int classes = 10, ulong seed = 42, float dropout = 0.5f) =>
        ClassicModels.VggSmall(backend, Mnist, classes, seed, dropout);

    /// <summary>A small VGG-style network for any image input; see <see cref="ClassicModels.VggSmall"/>.</summary>
    public static Sequential VggSmall(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42, float dropout = 0.5f) =>
        ClassicModels.VggSmall(backend, inputShape, classes, seed, dropout);

    /// <summary>A small ResNet-style network for 1x28x28 inputs; see <see cref="ClassicModels.ResNetSmall"/>.</summary>
    public static Sequential ResNetSmall(IBackend backend, int classes = 10, ulong seed = 42) =>
        ClassicModels.ResNetSmall(backend, Mnist, classes, seed);

    /// <summary>A small ResNet-style network for any image input; see <see cref="ClassicModels.ResNetSmall"/>.</summary>
    public static Sequential ResNetSmall(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42) =>
        ClassicModels.ResNetSmall(backend, inputShape, classes, seed);

    /// <summary>A ready-made model by its registry name (e.g. "lenet5"); see <see cref="ModelRegistry.Create"/>.</summary>
    public static Model ByName(string name, IBackend backend, TensorShape inputShape, int classes, ulong seed = 42) =>
        ModelRegistry.Create(name, backend, inputShape, classes, seed);

    private static TensorShape Mnist => Shapes.Image(1, 28, 28);
}
