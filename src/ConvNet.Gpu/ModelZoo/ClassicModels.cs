using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.ModelZoo;

/// <summary>
/// The stack-of-layers classifiers: LeNet-5 (modern and classic), a small VGG and a small ResNet. Each takes any image
/// input shape (C, H, W) large enough for its downsampling and a class count, and ends in logits (train with
/// <c>SoftmaxCrossEntropyLoss</c>; prediction applies the softmax). They were designed for 28x28 single-channel images
/// (MNIST, Fashion-MNIST), which is what the parameter counts in the docs refer to.
/// </summary>
public static class ClassicModels
{
    /// <summary>
    /// LeNet-5 as in LeCun et al. (1998): C1 6@5x5 (padded by 2, so a 28x28 input is seen as 32x32), S2 trainable 2x2
    /// subsampling, C3 16@5x5 with the partial connection table, S4, C5 120@5x5, F6 84, and a dense output in place of
    /// the RBF layer; tanh activations. For 1x28x28 and 10 classes: 156 / 12 / 1,516 / 32 / 48,120 / 10,164 / 850 = 60,850 parameters.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The input is too small for the two subsamplings and the 5x5 convolutions, or classes &lt; 1.</exception>
    public static Sequential LeNet5Classic(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42)
    {
        var glorot = Initializer.GlorotUniform;
        return Build(new Sequential(backend, inputShape, seed, "lenet5_classic"), model => model
            .Add(new Conv2D(6, kernelSize: 5, padding: 2, weightInitializer: glorot, name: "c1"), new Tanh("c1_tanh"))
            .Add(new Subsampling2D(2, name: "s2"), new Tanh("s2_tanh"))
            .Add(new Conv2D(16, kernelSize: 5, connections: ConnectionTable.LeNet5C3, weightInitializer: glorot, name: "c3"), new Tanh("c3_tanh"))
            .Add(new Subsampling2D(2, name: "s4"), new Tanh("s4_tanh"))
            .Add(new Conv2D(120, kernelSize: 5, weightInitializer: glorot, name: "c5"), new Tanh("c5_tanh"))
            .Add(new Flatten("flatten"))
            .Add(new Dense(84, weightInitializer: glorot, name: "f6"), new Tanh("f6_tanh"))
            .Add(new Dense(Classes(classes), weightInitializer: glorot, name: "output")));
    }

    /// <summary>
    /// The modern LeNet-5: C1 6@5x5 padding 2, ReLU, 2x2 max-pool; C2 16@5x5, ReLU, max-pool; dense 120-84-classes with
    /// ReLU. For 1x28x28 and 10 classes: 61,706 parameters (156 + 2,416 + 48,120 + 10,164 + 850).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The input is too small for the pooling and the 5x5 convolutions, or classes &lt; 1.</exception>
    public static Sequential LeNet5(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42) =>
        Build(new Sequential(backend, inputShape, seed, "lenet5"), model => model
            .Add(new Conv2D(6, kernelSize: 5, padding: 2, name: "conv1"), new ReLU("relu1"), new MaxPool2D(2, name: "pool1"))
            .Add(new Conv2D(16, kernelSize: 5, name: "conv2"), new ReLU("relu2"), new MaxPool2D(2, name: "pool2"))
            .Add(new Flatten("flatten"))
            .Add(new Dense(120, name: "fc1"), new ReLU("relu3"))
            .Add(new Dense(84, name: "fc2"), new ReLU("relu4"))
            .Add(new Dense(Classes(classes), name: "fc3")));

    /// <summary>
    /// A small VGG-style network: two blocks of (conv3x3-BN-ReLU) x2 + 2x2 max-pool with 32 and 64 maps
    /// (28 to 14 to 7 for a 28x28 input), then dense 128, ReLU, dropout and a dense output.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The input is smaller than 4x4, or classes &lt; 1.</exception>
    public static Sequential VggSmall(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42, float dropout = 0.5f) =>
        Build(new Sequential(backend, inputShape, seed, "vgg_small"), model =>
        {
            int block = 1;
            foreach (int maps in new[] { 32, 64 })
            {
                for (int i = 1; i <= 2; i++)
                    model.Add(new Conv2D(maps, kernelSize: 3, padding: 1, useBias: false, name: $"block{block}_conv{i}"),
                        new BatchNorm2D(name: $"block{block}_bn{i}"), new ReLU($"block{block}_relu{i}"));
                model.Add(new MaxPool2D(2, name: $"block{block}_pool"));
                block++;
            }
            model.Add(new Flatten("flatten"), new Dense(128, name: "fc1"), new ReLU("fc1_relu"), new Dropout(dropout, name: "dropout"),
                new Dense(Classes(classes), name: "output"));
        });

    /// <summary>
    /// A small ResNet-style network: a 3x3 stem with 16 maps, BN, ReLU; a residual block at 16 maps; a block down to 32
    /// maps at half the size with a strided 1x1 projection; a block down to 64 maps at a quarter with a projection;
    /// global average pooling and a dense output. Each block is conv-BN-ReLU-conv-BN plus the skip, followed by ReLU.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The input is not an image, or classes &lt; 1.</exception>
    public static Sequential ResNetSmall(IBackend backend, TensorShape inputShape, int classes = 10, ulong seed = 42) =>
        Build(new Sequential(backend, inputShape, seed, "resnet_small"), model =>
        {
            model.Add(new Conv2D(16, kernelSize: 3, padding: 1, useBias: false, name: "stem_conv"), new BatchNorm2D(name: "stem_bn"), new ReLU("stem_relu"));
            int index = 1;
            foreach (var (maps, stride) in new[] { (16, 1), (32, 2), (64, 2) })
            {
                bool project = stride != 1 || index == 1 && maps != 16;
                model.Add(new Residual(
                    [
                        new Conv2D(maps, kernelSize: 3, stride: stride, padding: 1, useBias: false, name: "conv1"), new BatchNorm2D(name: "bn1"), new ReLU("relu1"),
                        new Conv2D(maps, kernelSize: 3, padding: 1, useBias: false, name: "conv2"), new BatchNorm2D(name: "bn2"),
                    ], projection: project, projectionStride: stride, name: $"res{index}"));
                model.Add(new ReLU($"res{index}_relu"));
                index++;
            }
            model.Add(new GlobalAvgPool2D("gap"), new Dense(Classes(classes), name: "output"));
        });

    /// <summary>Checks a class count.</summary>
    internal static int Classes(int classes) => classes >= 1 ? classes
        : throw new ConvNetArgumentException($"A classifier needs at least one class, got classes={classes}.", nameof(classes));

    // Adds the layers, disposing the half-built model when a layer does not fit the input shape.
    private static Sequential Build(Sequential model, Action<Sequential> addLayers)
    {
        try
        {
            addLayers(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
