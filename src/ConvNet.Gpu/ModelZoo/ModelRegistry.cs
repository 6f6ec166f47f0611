using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.ModelZoo;

/// <summary>What a ready-made model is for.</summary>
public enum ModelTask
{
    /// <summary>Image classification: outputs one score per class (logits).</summary>
    Classification,

    /// <summary>Semantic segmentation: outputs one score map per class, the size of the input.</summary>
    Segmentation,
}

/// <summary>A ready-made model the registry can build.</summary>
/// <param name="Name">The registry name, e.g. "lenet5" (lower case, what <c>convnet --model</c> takes).</param>
/// <param name="Description">One line saying what it is.</param>
/// <param name="Task">What it outputs.</param>
/// <param name="DefaultInputShape">The per-sample input shape it was designed for.</param>
/// <param name="Create">Builds it: (backend, per-sample input shape, classes, seed).</param>
public sealed record ModelEntry(string Name, string Description, ModelTask Task, TensorShape DefaultInputShape,
    Func<IBackend, TensorShape, int, ulong, Model> Create);

/// <summary>
/// The library's models by name, the one list the CLI, the benchmarks and user code share. Each entry builds a freshly
/// initialized model for any suitable input shape and class count.
/// </summary>
public static class ModelRegistry
{
    private static readonly ModelEntry[] Entries =
    [
        new("lenet5", "Modern LeNet-5 (ReLU, max-pool), 61,706 parameters at 1x28x28", ModelTask.Classification, Shapes.Image(1, 28, 28),
            (b, s, c, seed) => ClassicModels.LeNet5(b, s, c, seed)),
        new("lenet5-classic", "LeNet-5 as in LeCun et al. 1998 (tanh, trainable subsampling, the C3 connection table)", ModelTask.Classification,
            Shapes.Image(1, 28, 28), (b, s, c, seed) => ClassicModels.LeNet5Classic(b, s, c, seed)),
        new("vgg-small", "A small VGG-style network (conv-BN-ReLU blocks, dropout)", ModelTask.Classification, Shapes.Image(1, 28, 28),
            (b, s, c, seed) => ClassicModels.VggSmall(b, s, c, seed)),
        new("resnet-small", "A small ResNet-style network (three residual blocks)", ModelTask.Classification, Shapes.Image(1, 28, 28),
            (b, s, c, seed) => ClassicModels.ResNetSmall(b, s, c, seed)),
        new("resnet18", "ResNet-18, CIFAR variant (graph model, 11,173,962 parameters at 3x32x32 and 10 classes)", ModelTask.Classification,
            Shapes.Image(3, 32, 32), (b, s, c, seed) => ResNet.ResNet18(b, s, c, seed)),
        new("unet-small", "A small U-Net (graph model: ConvTranspose2D upsampling, Concat skips), one logit map per class", ModelTask.Segmentation,
            Shapes.Image(1, 64, 64), (b, s, c, seed) => UNet.Create(b, s, c, seed)),
    ];

    /// <summary>Every registered model, in a fixed order (the default first).</summary>
    public static IReadOnlyList<ModelEntry> All => Entries;

    /// <summary>The registered names, in <see cref="All"/>'s order.</summary>
    public static IReadOnlyList<string> Names => Entries.Select(e => e.Name).ToArray();

    /// <summary>The entry called <paramref name="name"/> (case-sensitive).</summary>
    /// <exception cref="ConvNetArgumentException">No model has that name (the message lists the valid ones).</exception>
    public static ModelEntry Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Entries.FirstOrDefault(e => e.Name == name)
            ?? throw new ConvNetArgumentException($"Unknown model '{name}'. Valid models: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Builds model <paramref name="name"/> for <paramref name="inputShape"/> and <paramref name="classes"/> classes.</summary>
    /// <exception cref="ConvNetArgumentException">The name is unknown, or the model cannot take that input shape or class count.</exception>
    public static Model Create(string name, IBackend backend, TensorShape inputShape, int classes, ulong seed = 42)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(inputShape);
        return Get(name).Create(backend, inputShape, classes, seed);
    }
}
