namespace ConvNet.Gpu.Cli.Engine;

/// <summary>The ready-made models --model accepts, and the optimizers --optimizer accepts.</summary>
internal static class ModelNames
{
    /// <summary>Modern LeNet-5 (ReLU, max-pool): the default.</summary>
    public const string LeNet5 = "lenet5";

    /// <summary>LeNet-5 as in LeCun et al. 1998 (tanh, trainable subsampling, the C3 connection table).</summary>
    public const string LeNet5Classic = "lenet5-classic";

    /// <summary>A small VGG-style network for 28x28 inputs.</summary>
    public const string VggSmall = "vgg-small";

    /// <summary>A small ResNet-style network for 28x28 inputs.</summary>
    public const string ResNetSmall = "resnet-small";

    /// <summary>Every model name, default first.</summary>
    public static IReadOnlyList<string> All { get; } = [LeNet5, LeNet5Classic, VggSmall, ResNetSmall];

    /// <summary>Optimizer names, default first.</summary>
    public static IReadOnlyList<string> Optimizers { get; } = ["adam", "sgd", "adamw"];

    /// <summary>The default learning rate of each optimizer.</summary>
    public static double DefaultLearningRate(string optimizer) => optimizer == "sgd" ? 0.05 : 1e-3;
}
