using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu;

/// <summary>
/// Ready-made models, built on any backend: the entry point to <see cref="ModelZoo.ClassicModels"/>,
/// <see cref="ModelZoo.ResNet"/>, <see cref="ModelZoo.UNet"/> and <see cref="ModelRegistry"/> (models by name). The
/// classic models' overloads without an input shape build for 28x28 single-channel images (MNIST, Fashion-MNIST);
/// ResNet-18's for 3x32x32. Every model ends in logits (classifiers: train with <c>SoftmaxCrossEntropyLoss</c>,
/// prediction applies the softmax; U-Net: one logit map per class).
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

    /// <summary>ResNet-18, CIFAR variant, for 3x32x32 inputs (11,173,962 parameters for 10 classes); see <see cref="ResNet.ResNet18"/>.</summary>
    public static Model ResNet18(IBackend backend, int classes = 10, ulong seed = 42) => ResNet.ResNet18(backend, Shapes.Image(3, 32, 32), classes, seed);

    /// <summary>ResNet-18 for any image input; see <see cref="ResNet.ResNet18"/>.</summary>
    public static Model ResNet18(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42, int width = 64) =>
        ResNet.ResNet18(backend, inputShape, classes, seed, width);

    /// <summary>A small U-Net for segmentation: one logit map per class, the size of the input; see <see cref="UNet.Create"/>.</summary>
    public static Model UNet(IBackend backend, TensorShape inputShape, int classes = 1, ulong seed = 42, int baseFilters = 16, int depth = 2) =>
        ModelZoo.UNet.Create(backend, inputShape, classes, seed, baseFilters, depth);

    /// <summary>A ready-made model by its registry name (e.g. "lenet5"); see <see cref="ModelRegistry.Create"/>.</summary>
    public static Model ByName(string name, IBackend backend, TensorShape inputShape, int classes, ulong seed = 42) =>
        ModelRegistry.Create(name, backend, inputShape, classes, seed);

    private static TensorShape Mnist => Shapes.Image(1, 28, 28);
}
