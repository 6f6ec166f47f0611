namespace ConvNet.Gpu.Benchmarks;

/// <summary>One named convolution benchmark case: an NCHW input and a convolution spec.</summary>
/// <param name="Name">Short name used in benchmark tables, e.g. "resnet".</param>
/// <param name="N">Batch size.</param>
/// <param name="C">Input channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="K">Output channels.</param>
/// <param name="Spec">Kernel, stride, padding, dilation and groups.</param>
public sealed record ConvShape(string Name, int N, int C, int H, int W, int K, Conv2dSpec Spec)
{
    /// <summary>The resolved geometry.</summary>
    public Conv2dGeometry Geometry => Spec.Resolve(TensorShape.Nchw(N, C, H, W), K);

    /// <summary>FLOPs of one forward pass (2 per multiply-add); backward-data and backward-weights cost the same.</summary>
    public double Flops => 2.0 * Geometry.MacCount;

    /// <summary>The name, for BenchmarkDotNet parameter columns.</summary>
    public override string ToString() => Name;
}

/// <summary>
/// The shared convolution shape table used by the CPU, GPU and PyTorch comparisons (sized for a 2-core CPU).
/// </summary>
public static class ConvShapes
{
    /// <summary>LeNet-5 C1: N64 C1 28x28, K6 5x5, pad 2.</summary>
    public static readonly ConvShape LeNetC1 = new("lenet-c1", 64, 1, 28, 28, 6, Conv2dSpec.Square(5, padding: 2));
    /// <summary>LeNet-5 C3: N64 C6 14x14, K16 5x5.</summary>
    public static readonly ConvShape LeNetC3 = new("lenet-c3", 64, 6, 14, 14, 16, Conv2dSpec.Square(5));
    /// <summary>Keras MNIST example first layer: N64 C1 28x28, K64 3x3.</summary>
    public static readonly ConvShape Keras = new("keras", 64, 1, 28, 28, 64, Conv2dSpec.Square(3));
    /// <summary>ResNet stage-1 3x3: N8 C64 56x56, K64 3x3, pad 1.</summary>
    public static readonly ConvShape ResNet = new("resnet", 8, 64, 56, 56, 64, Conv2dSpec.Square(3, padding: 1));
    /// <summary>ResNet downsampling 3x3: N8 C64 56x56, K128 3x3, stride 2, pad 1.</summary>
    public static readonly ConvShape ResNetS2 = new("resnet-s2", 8, 64, 56, 56, 128, Conv2dSpec.Square(3, stride: 2, padding: 1));
    /// <summary>Pointwise 1x1: N8 C256 14x14, K64.</summary>
    public static readonly ConvShape Pointwise = new("pointwise", 8, 256, 14, 14, 64, Conv2dSpec.Square(1));
    /// <summary>Dilated 3x3: N8 C32 64x64, K32, pad 2, dilation 2.</summary>
    public static readonly ConvShape Dilated = new("dilated", 8, 32, 64, 64, 32, Conv2dSpec.Square(3, padding: 2, dilation: 2));

    /// <summary>Every shape, in table order.</summary>
    public static IReadOnlyList<ConvShape> All { get; } = [LeNetC1, LeNetC3, Keras, ResNet, ResNetS2, Pointwise, Dilated];

    /// <summary>The shape called <paramref name="name"/>.</summary>
    public static ConvShape ByName(string name) =>
        All.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"unknown conv shape '{name}'", nameof(name));
}
