using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu;

/// <summary>
/// Ready-made classifiers for 28x28 single-channel images (MNIST, Fashion-MNIST), built on any backend. Each returns a
/// <see cref="Sequential"/> that ends in logits (use <see cref="Losses.SoftmaxCrossEntropyLoss"/> to train;
/// <see cref="Sequential.Predict"/> applies the softmax).
/// </summary>
public static class Models
{
    /// <summary>
    /// LeNet-5 as in LeCun et al. (1998): C1 6@5x5 (on the 28x28 input padded by 2, i.e. 32x32), S2 trainable 2x2
    /// subsampling, C3 16@5x5 with the partial connection table, S4, C5 120@5x5, F6 84, and a dense 84-to-10 output in
    /// place of the RBF layer; tanh activations. Parameters: 156 / 12 / 1,516 / 32 / 48,120 / 10,164 / 850 = 60,850.
    /// </summary>
    public static Sequential LeNet5Classic(IBackend backend, int classes = 10, ulong seed = 42)
    {
        var glorot = Initializer.GlorotUniform;
        return new Sequential(backend, (1, 28, 28), seed, "lenet5_classic")
            .Add(new Conv2D(6, kernelSize: 5, padding: 2, weightInitializer: glorot, name: "c1"), new Tanh("c1_tanh"))
            .Add(new Subsampling2D(2, name: "s2"), new Tanh("s2_tanh"))
            .Add(new Conv2D(16, kernelSize: 5, connections: ConnectionTable.LeNet5C3, weightInitializer: glorot, name: "c3"), new Tanh("c3_tanh"))
            .Add(new Subsampling2D(2, name: "s4"), new Tanh("s4_tanh"))
            .Add(new Conv2D(120, kernelSize: 5, weightInitializer: glorot, name: "c5"), new Tanh("c5_tanh"))
            .Add(new Flatten("flatten"))
            .Add(new Dense(84, weightInitializer: glorot, name: "f6"), new Tanh("f6_tanh"))
            .Add(new Dense(classes, weightInitializer: glorot, name: "output"));
    }

    /// <summary>
    /// The modern LeNet-5: C1 6@5x5 padding 2, ReLU, 2x2 max-pool; C2 16@5x5, ReLU, max-pool; dense 400-120-84-10 with
    /// ReLU. 61,706 parameters (156 + 2,416 + 48,120 + 10,164 + 850).
    /// </summary>
    public static Sequential LeNet5(IBackend backend, int classes = 10, ulong seed = 42) =>
        new Sequential(backend, (1, 28, 28), seed, "lenet5")
            .Add(new Conv2D(6, kernelSize: 5, padding: 2, name: "conv1"), new ReLU("relu1"), new MaxPool2D(2, name: "pool1"))
            .Add(new Conv2D(16, kernelSize: 5, name: "conv2"), new ReLU("relu2"), new MaxPool2D(2, name: "pool2"))
            .Add(new Flatten("flatten"))
            .Add(new Dense(120, name: "fc1"), new ReLU("relu3"))
            .Add(new Dense(84, name: "fc2"), new ReLU("relu4"))
            .Add(new Dense(classes, name: "fc3"));

    /// <summary>
    /// A small VGG-style network: two blocks of (conv3x3-BN-ReLU) x2 + 2x2 max-pool with 32 and 64 maps
    /// (28 to 14 to 7), then dense 3136-128, ReLU, dropout 0.5 and a dense output.
    /// </summary>
    public static Sequential VggSmall(IBackend backend, int classes = 10, ulong seed = 42, float dropout = 0.5f)
    {
        var model = new Sequential(backend, (1, 28, 28), seed, "vgg_small");
        int block = 1;
        foreach (int maps in new[] { 32, 64 })
        {
            for (int i = 1; i <= 2; i++)
                model.Add(new Conv2D(maps, kernelSize: 3, padding: 1, useBias: false, name: $"block{block}_conv{i}"),
                    new BatchNorm2D(name: $"block{block}_bn{i}"), new ReLU($"block{block}_relu{i}"));
            model.Add(new MaxPool2D(2, name: $"block{block}_pool"));
            block++;
        }
        return model.Add(new Flatten("flatten"), new Dense(128, name: "fc1"), new ReLU("fc1_relu"), new Dropout(dropout, name: "dropout"),
            new Dense(classes, name: "output"));
    }

    /// <summary>
    /// A small ResNet-style network: a 3x3 stem with 16 maps, BN, ReLU; a residual block at 16 maps (28x28); a block
    /// down to 32 maps at 14x14 with a strided 1x1 projection; a block down to 64 maps at 7x7 with a projection; global
    /// average pooling and a dense output. Each block is conv-BN-ReLU-conv-BN plus the skip, followed by ReLU.
    /// </summary>
    public static Sequential ResNetSmall(IBackend backend, int classes = 10, ulong seed = 42)
    {
        var model = new Sequential(backend, (1, 28, 28), seed, "resnet_small")
            .Add(new Conv2D(16, kernelSize: 3, padding: 1, useBias: false, name: "stem_conv"), new BatchNorm2D(name: "stem_bn"), new ReLU("stem_relu"));
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
        return model.Add(new GlobalAvgPool2D("gap"), new Dense(classes, name: "output"));
    }
}
