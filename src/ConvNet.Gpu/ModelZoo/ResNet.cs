using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.ModelZoo;

/// <summary>
/// ResNet graph models built with the functional API: every residual connection is an <see cref="Add"/> of the block and
/// its shortcut.
/// </summary>
public static class ResNet
{
    /// <summary>
    /// ResNet-18 for small images, the CIFAR variant of He et al. (2016): a 3x3 stem (stride 1, no max-pool), four stages
    /// of two basic blocks with <paramref name="width"/> x (1, 2, 4, 8) maps (the last three start with stride 2 and a
    /// 1x1 convolution + batch norm shortcut), global average pooling and a dense output. A basic block is
    /// conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU; convolutions have no bias. For 3x32x32 inputs, 10
    /// classes and width 64 it has 11,173,962 trainable parameters, as torchvision's resnet18 with this stem.
    /// </summary>
    /// <param name="backend">Where the model lives.</param>
    /// <param name="inputShape">Per-sample image shape (C, H, W); designed for 3x32x32, any size from 8x8 works.</param>
    /// <param name="classes">Number of output scores (logits).</param>
    /// <param name="seed">Initialization seed.</param>
    /// <param name="width">Maps of the first stage (64 in the paper); smaller widths make quick experiments.</param>
    /// <exception cref="ConvNetArgumentException">The input is not an image or is too small, or classes or width &lt; 1.</exception>
    public static Model ResNet18(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42, int width = 64)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (width < 1) throw new ConvNetArgumentException($"ResNet-18 width must be at least 1, got {width}.", nameof(width));
        int outputs = ClassicModels.Classes(classes);
        if (inputShape.Rank != 3 || inputShape[1] < 8 || inputShape[2] < 8)
            throw new ShapeMismatchException($"ResNet-18 takes images (C, H, W) of at least 8x8 (it halves them three times), got {inputShape}.");
        var image = Model.Input(inputShape, "image");
        var h = new ReLU("stem_relu").Call(new BatchNorm2D(name: "stem_bn").Call(
            new Conv2D(width, kernelSize: 3, padding: 1, useBias: false, name: "stem_conv").Call(image)));
        int channels = width;
        for (int stage = 1; stage <= 4; stage++)
        {
            int maps = width << (stage - 1);
            for (int block = 1; block <= 2; block++)
            {
                int stride = stage > 1 && block == 1 ? 2 : 1;
                h = BasicBlock(h, channels, maps, stride, $"layer{stage}_{block}");
                channels = maps;
            }
        }
        var logits = new Dense(outputs, name: "fc").Call(new GlobalAvgPool2D("gap").Call(h));
        return new Model(backend, image, logits, seed, "resnet18");
    }

    /// <summary>
    /// A basic residual block: conv3x3 (stride) - BN - ReLU - conv3x3 - BN, added to the shortcut (identity, or a strided
    /// 1x1 convolution and BN when the stride or the channel count changes), then ReLU.
    /// </summary>
    public static SymbolicTensor BasicBlock(SymbolicTensor x, int inChannels, int maps, int stride, string name)
    {
        ArgumentNullException.ThrowIfNull(x);
        var h = new Conv2D(maps, 3, stride: stride, padding: 1, useBias: false, name: $"{name}_conv1").Call(x);
        h = new ReLU($"{name}_relu1").Call(new BatchNorm2D(name: $"{name}_bn1").Call(h));
        h = new BatchNorm2D(name: $"{name}_bn2").Call(new Conv2D(maps, 3, padding: 1, useBias: false, name: $"{name}_conv2").Call(h));
        var shortcut = stride == 1 && inChannels == maps ? x
            : new BatchNorm2D(name: $"{name}_down_bn").Call(new Conv2D(maps, 1, stride: stride, useBias: false, name: $"{name}_down").Call(x));
        return new ReLU($"{name}_relu2").Call(new Add($"{name}_add").Call(h, shortcut));
    }
}
