using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// Small models covering every layer type and option the ONNX exporter handles, by name (for theory data), and the
/// randomization that makes their untrained parameters and statistics non-trivial.
/// </summary>
public static class OnnxTestModels
{
    private static Sequential Image(IBackend b, int c, int h, int w) => new(b, (c, h, w), seed: 7, name: "case");

    /// <summary>Every case: a name and the model it builds on a backend.</summary>
    public static readonly IReadOnlyDictionary<string, Func<IBackend, Sequential>> Layers = new Dictionary<string, Func<IBackend, Sequential>>
    {
        ["conv_stride2_bias"] = b => Image(b, 3, 9, 8).Add(new Conv2D(4, kernelSize: 3, stride: 2, padding: 1)),
        ["conv_asymmetric_pads"] = b => Image(b, 2, 7, 6).Add(new Conv2D(3, new Conv2dSpec(3, 2, 1, 2, Padding2d.Explicit(1, 2, 0, 3)))),
        ["conv_same_even_kernel"] = b => Image(b, 2, 7, 8).Add(new Conv2D(3, new Conv2dSpec(4, 4, 2, 2, Padding2d.Same))),
        ["conv_full"] = b => Image(b, 2, 5, 5).Add(new Conv2D(2, new Conv2dSpec(3, 3, padding: Padding2d.Full))),
        ["conv_dilation2"] = b => Image(b, 2, 9, 9).Add(new Conv2D(3, kernelSize: 3, padding: 2, dilation: 2)),
        ["conv_groups2_nobias"] = b => Image(b, 4, 6, 6).Add(new Conv2D(6, kernelSize: 3, groups: 2, useBias: false)),
        ["conv_depthwise"] = b => Image(b, 3, 6, 6).Add(new Conv2D(3, kernelSize: 3, padding: 1, groups: 3)),
        ["conv_connection_table"] = b => Image(b, 6, 9, 9).Add(new Conv2D(16, kernelSize: 5, connections: ConnectionTable.LeNet5C3)),
        ["convtranspose_stride2_pad1_outpad1"] = b => Image(b, 3, 4, 5).Add(new ConvTranspose2D(2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1)),
        ["convtranspose_dilation_groups"] = b => Image(b, 4, 4, 4).Add(new ConvTranspose2D(4, (3, 2), (2, 3), (1, 0), (0, 2), (2, 1), groups: 2)),
        ["convtranspose_nobias"] = b => Image(b, 2, 3, 3).Add(new ConvTranspose2D(3, kernelSize: 2, stride: 2, useBias: false)),
        ["maxpool_2"] = b => Image(b, 2, 6, 7).Add(new MaxPool2D(2)),
        ["maxpool_3_stride2_pad1"] = b => Image(b, 2, 7, 7).Add(new MaxPool2D(3, stride: 2, padding: 1)),
        ["maxpool_ceil"] = b => Image(b, 2, 7, 6).Add(new MaxPool2D(3, stride: 2, ceilMode: true)),
        // x = 5, k = 2, s = 2, p = 1: ceil gives 4 windows but the 4th would start in the right padding, so 3.
        ["maxpool_ceil_last_window_in_padding"] = b => Image(b, 1, 5, 5).Add(new MaxPool2D(2, stride: 2, padding: 1, ceilMode: true)),
        ["avgpool_2"] = b => Image(b, 2, 6, 6).Add(new AvgPool2D(2)),
        ["avgpool_pad_count_include"] = b => Image(b, 2, 6, 5).Add(new AvgPool2D(new Pool2dSpec(3, 3, 2, 2, 1, 1, ceilMode: false, countIncludePadding: true))),
        ["avgpool_pad_count_exclude"] = b => Image(b, 2, 6, 5).Add(new AvgPool2D(new Pool2dSpec(3, 3, 2, 2, 1, 1, ceilMode: false, countIncludePadding: false))),
        ["avgpool_ceil_count_include"] = b => Image(b, 2, 7, 6).Add(new AvgPool2D(new Pool2dSpec(3, 2, 2, 2, 1, 1, ceilMode: true, countIncludePadding: true))),
        ["avgpool_ceil_count_exclude"] = b => Image(b, 2, 7, 6).Add(new AvgPool2D(new Pool2dSpec(3, 2, 2, 2, 1, 1, ceilMode: true, countIncludePadding: false))),
        // x = 6, k = 3, s = 2, p = 1, ceil: the last window [5, 8) runs one row past the padded input [-1, 7).
        ["avgpool_ceil_overhang_count_include"] = b => Image(b, 1, 6, 6).Add(new AvgPool2D(new Pool2dSpec(3, 3, 2, 2, 1, 1, ceilMode: true, countIncludePadding: true))),
        ["avgpool_ceil_overhang_count_exclude"] = b => Image(b, 1, 6, 6).Add(new AvgPool2D(new Pool2dSpec(3, 3, 2, 2, 1, 1, ceilMode: true, countIncludePadding: false))),
        ["maxpool_ceil_overhang"] = b => Image(b, 1, 6, 6).Add(new MaxPool2D(3, stride: 2, padding: 1, ceilMode: true)),
        // Rows: x = 5, k = 2, s = 2, p = 1 (ceil's last window dropped); columns: x = 6, k = 3 (the last window overhangs).
        ["maxpool_ceil_mixed_axes"] = b => Image(b, 2, 5, 6).Add(new MaxPool2D(new Pool2dSpec(2, 3, 2, 2, 1, 1, ceilMode: true))),
        ["avgpool_ceil_mixed_axes_count_include"] = b => Image(b, 2, 5, 6).Add(new AvgPool2D(new Pool2dSpec(2, 3, 2, 2, 1, 1, ceilMode: true, countIncludePadding: true))),
        ["avgpool_ceil_mixed_axes_count_exclude"] = b => Image(b, 2, 5, 6).Add(new AvgPool2D(new Pool2dSpec(2, 3, 2, 2, 1, 1, ceilMode: true, countIncludePadding: false))),
        // x = 5, k = 1, s = 3, p = 0, ceil: no padding, but the stride exceeds the kernel and the 3rd window would start past the input.
        ["avgpool_ceil_stride_over_kernel"] = b => Image(b, 1, 5, 5).Add(new AvgPool2D(new Pool2dSpec(1, 1, 3, 3, 0, 0, ceilMode: true, countIncludePadding: true))),
        ["avgpool_ceil_last_window_in_padding"] = b => Image(b, 1, 5, 5).Add(new AvgPool2D(new Pool2dSpec(2, 2, 2, 2, 1, 1, ceilMode: true, countIncludePadding: true))),
        ["avgpool_ceil_no_padding"] = b => Image(b, 1, 5, 7).Add(new AvgPool2D(new Pool2dSpec(2, 3, 2, 2, 0, 0, ceilMode: true, countIncludePadding: true))),
        ["global_avgpool"] = b => Image(b, 3, 5, 4).Add(new GlobalAvgPool2D()),
        ["upsample_2"] = b => Image(b, 2, 3, 4).Add(new Upsample2D(2)),
        ["upsample_3x2"] = b => Image(b, 2, 3, 4).Add(new Upsample2D(3, 2)),
        ["dense_features"] = b => new Sequential(b, Shapes.Features(7), seed: 7).Add(new Dense(5)),
        ["dense_on_image_nobias"] = b => Image(b, 2, 3, 3).Add(new Dense(4, useBias: false)),
        ["flatten"] = b => Image(b, 2, 3, 4).Add(new Flatten()),
        ["dropout"] = b => Image(b, 2, 3, 4).Add(new Dropout(0.3f)),
        ["batchnorm_image"] = b => Image(b, 3, 4, 4).Add(new BatchNorm2D(momentum: 0.2f, epsilon: 1e-3f)),
        ["batchnorm_features"] = b => new Sequential(b, Shapes.Features(5), seed: 7).Add(new BatchNorm2D()),
        ["relu"] = b => Image(b, 2, 3, 3).Add(new ReLU()),
        ["leaky_relu"] = b => Image(b, 2, 3, 3).Add(new LeakyReLU(0.2f)),
        ["elu"] = b => Image(b, 2, 3, 3).Add(new ELU(0.7f)),
        ["sigmoid"] = b => Image(b, 2, 3, 3).Add(new Sigmoid()),
        ["tanh"] = b => Image(b, 2, 3, 3).Add(new Tanh()),
        ["softmax"] = b => Image(b, 2, 3, 3).Add(new Flatten(), new Softmax()),
        ["residual_identity"] = b => Image(b, 3, 5, 5).Add(new Residual([new Conv2D(3, kernelSize: 3, padding: 1), new ReLU(), new Conv2D(3, kernelSize: 3, padding: 1)])),
        ["residual_projection"] = b => Image(b, 3, 6, 6).Add(new Residual(
            [new Conv2D(5, kernelSize: 3, stride: 2, padding: 1, useBias: false), new BatchNorm2D(), new ReLU()], projection: true, projectionStride: 2)),
        ["subsampling"] = b => Image(b, 3, 6, 4).Add(new Subsampling2D(2)),
        ["normalize_per_channel"] = b => Image(b, 3, 4, 5).Add(new Normalize([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f])),
        ["normalize_one_value"] = b => Image(b, 2, 3, 3).Add(new Normalize([0.2860f], [0.3530f])),
        ["normalize_features"] = b => new Sequential(b, Shapes.Features(4), seed: 7).Add(new Normalize([1f, -2f, 0.5f, 0f], [2f, 0.5f, 1f, 3f]), new Dense(3)),
    };

    /// <summary>The ready-made models: every model of the <see cref="ModelRegistry"/> (by its name), at its default input shape and 10 classes.</summary>
    public static readonly IReadOnlyDictionary<string, Func<IBackend, Model>> ReadyMade = ModelRegistry.All
        .Select(e => KeyValuePair.Create(e.Name, (Func<IBackend, Model>)(b => e.Create(b, e.DefaultInputShape, 10, 42))))
        .ToDictionary();

    /// <summary>
    /// Makes every parameter and statistic non-trivial: biases, batch-norm scales, shifts and running statistics and
    /// subsampling coefficients are redrawn (they start at constants); weights of partially connected convolutions
    /// keep their zeros. Running variances are drawn in [0.5, 1.5].
    /// </summary>
    public static void Randomize(Model model, ulong seed)
    {
        var random = new HostRandom(seed);
        foreach (var (path, layer) in model.AllLayers())
        {
            if (layer.Children.Count > 0) continue;
            foreach (var p in layer.Parameters)
            {
                if (p.Name == "weight" && layer is Conv2D or Dense or ConvTranspose2D) continue; // already random (He/Glorot)
                p.Value.Upload(Draw(random, p.Value.ElementCount, -0.5f, 0.5f));
            }
            if (layer is BatchNorm2D bn)
            {
                bn.RunningMean.Upload(Draw(random, bn.Channels, -0.3f, 0.3f));
                bn.RunningVariance.Upload(Draw(random, bn.Channels, 0.5f, 1.5f));
                bn.Gamma.Value.Upload(Draw(random, bn.Channels, 0.5f, 1.5f));
            }
        }
    }

    private static float[] Draw(HostRandom r, long count, float lo, float hi)
    {
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = r.NextUniform(lo, hi);
        return a;
    }
}
