using ConvNet.Gpu.Nn;
using static ConvNet.Gpu.Onnx.Export.OnnxGraphWriter;

namespace ConvNet.Gpu.Onnx.Export;

/// <summary>
/// Writes one layer as ONNX nodes with the layer's exact inference semantics. Value shapes are (N, sample...) where
/// the layer's sample is (C, H, W) or (F); a layer whose ONNX op needs another rank gets a Flatten next to it.
/// Weights are downloaded from the backend as they are now. Node names are the layer's path in its model
/// ("res1/conv1"), initializers are the path plus ".weight", ".bias", and so on.
/// </summary>
internal static class LayerExport
{
    /// <summary>The layer types this exporter knows, for the message of an unsupported one.</summary>
    public static readonly string[] Supported =
    [
        "Conv2D", "ConvTranspose2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Upsample2D", "Dense", "Flatten", "Dropout",
        "BatchNorm2D", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "Residual", "Subsampling2D", "Normalize",
    ];

    /// <summary>
    /// Emits <paramref name="layer"/> reading value <paramref name="input"/> and returns the name of its output value
    /// (whose shape is recorded as value info). <paramref name="path"/> names the nodes and initializers.
    /// </summary>
    public static string Export(Layer layer, string path, string input, OnnxGraphWriter w)
    {
        string output = layer switch
        {
            Conv2D c => Conv(c, path, input, w),
            ConvTranspose2D t => ConvTranspose(t, path, input, w),
            MaxPool2D or AvgPool2D => PoolExport.Pool((PoolingLayer)layer, path, input, w),
            GlobalAvgPool2D => w.Node("Flatten", path, [w.Node("GlobalAveragePool", path + "/pool", [input])], Int("axis", 1)),
            Upsample2D u => Upsample(u, path, input, w),
            Dense d => Gemm(d, path, input, w),
            Flatten => w.Node("Flatten", path, [input], Int("axis", 1)),
            Dropout d => w.Node("Dropout", path, [input, w.Constant(path + ".ratio", [], [d.Rate])]),
            BatchNorm2D b => BatchNorm(b, path, input, w),
            ReLU => w.Node("Relu", path, [input]),
            LeakyReLU l => w.Node("LeakyRelu", path, [input], Float("alpha", l.Alpha)),
            ELU e => w.Node("Elu", path, [input], Float("alpha", e.Alpha)),
            Sigmoid => w.Node("Sigmoid", path, [input]),
            Tanh => w.Node("Tanh", path, [input]),
            // Our Softmax takes feature vectors (N, F); axis 1 is the last axis.
            Softmax => w.Node("Softmax", path, [input], Int("axis", 1)),
            Residual r => ResidualBlock(r, path, input, w),
            Subsampling2D s => Subsampling(s, path, input, w),
            Normalize n => NormalizeChannels(n, path, input, w),
            _ => throw new OnnxExportException(path, layer.TypeName,
                $"no ONNX equivalent is known for layer type {layer.TypeName}; exportable types are {string.Join(", ", Supported)}."),
        };
        w.ValueInfo(output, layer.OutputShape);
        return output;
    }

    // Normalize: (x - mean) / std with constants of shape (1, C, 1, 1) for images and (1, F) for feature vectors (a single
    // value broadcasts as a scalar), so any runtime reproduces the layer from the raw inputs.
    private static string NormalizeChannels(Normalize n, string path, string input, OnnxGraphWriter w)
    {
        int count = n.Mean.Count;
        long[] dims = count == 1 ? [] : n.InputShape.Rank == 3 ? [1, count, 1, 1] : [1, count];
        string mean = w.Constant(path + ".mean", dims, n.Mean.ToArray());
        string std = w.Constant(path + ".std", dims, n.Std.ToArray());
        return w.Node("Div", path, [w.Node("Sub", path + "/center", [input, mean]), std]);
    }

    // Conv: weight (K, C/groups, KH, KW), bias (K). Padding modes (same/full/valid) are resolved against the layer's
    // input size into the explicit per-side amounts our geometry uses, so ONNX's asymmetric pads reproduce them
    // exactly (pads order: top, left, bottom, right). A connection table's unconnected kernels are written as zeros.
    private static string Conv(Conv2D c, string path, string input, OnnxGraphWriter w)
    {
        var g = c.Spec.Resolve(Shapes.Batch(c.InputShape, 1), c.OutChannels);
        float[]? weight = null;
        if (c.Connections is not null)
        {
            weight = c.Weight.Value.ToArray();
            var mask = c.Connections.WeightMask(c.Spec.KernelH, c.Spec.KernelW);
            for (int i = 0; i < weight.Length; i++) weight[i] *= mask[i];
        }
        var inputs = new List<string> { input, w.Parameter(path + ".weight", c.Weight.Value, weight) };
        if (c.Bias is { } b) inputs.Add(w.Parameter(path + ".bias", b.Value));
        return w.Node("Conv", path, inputs,
            Ints("kernel_shape", c.Spec.KernelH, c.Spec.KernelW),
            Ints("strides", c.Spec.StrideH, c.Spec.StrideW),
            Ints("pads", g.PadTop, g.PadLeft, g.PadBottom, g.PadRight),
            Ints("dilations", c.Spec.DilationH, c.Spec.DilationW),
            Int("group", c.Spec.Groups));
    }

    // ConvTranspose: weight (Cin, Cout/groups, KH, KW) is ONNX's layout as is. Output size
    // (H - 1) * stride - 2 * pad + dilation * (k - 1) + 1 + output_padding, the output padding added at the end.
    private static string ConvTranspose(ConvTranspose2D t, string path, string input, OnnxGraphWriter w)
    {
        var inputs = new List<string> { input, w.Parameter(path + ".weight", t.Weight.Value) };
        if (t.Bias is { } b) inputs.Add(w.Parameter(path + ".bias", b.Value));
        var p = t.Spec.Padding;
        return w.Node("ConvTranspose", path, inputs,
            Ints("kernel_shape", t.Spec.KernelH, t.Spec.KernelW),
            Ints("strides", t.Spec.StrideH, t.Spec.StrideW),
            Ints("pads", p.Top, p.Left, p.Bottom, p.Right),
            Ints("dilations", t.Spec.DilationH, t.Spec.DilationW),
            Ints("output_padding", t.OutputPadding.H, t.OutputPadding.W),
            Int("group", t.Spec.Groups));
    }

    // Nearest upsampling by integer factors: output (y, x) reads input (floor(y / sh), floor(x / sw)), which is
    // Resize's "asymmetric" coordinate transform (x_in = x_out / scale) with the "floor" rounding.
    private static string Upsample(Upsample2D u, string path, string input, OnnxGraphWriter w)
    {
        string scales = w.Constant(path + ".scales", [4], [1f, 1f, u.ScaleH, u.ScaleW]);
        return w.Node("Resize", path, [input, "", scales],
            String("mode", "nearest"),
            String("coordinate_transformation_mode", "asymmetric"),
            String("nearest_mode", "floor"));
    }

    // Dense: y = x W^T + b with W (units, F): Gemm with transB = 1. Dense reads any sample shape row-major, so an
    // image input is flattened first, as our Dense does implicitly.
    private static string Gemm(Dense d, string path, string input, OnnxGraphWriter w)
    {
        string x = d.InputShape.Rank == 1 ? input : w.Node("Flatten", path + "/flatten", [input], Int("axis", 1));
        var inputs = new List<string> { x, w.Parameter(path + ".weight", d.Weight.Value) };
        if (d.Bias is { } b) inputs.Add(w.Parameter(path + ".bias", b.Value));
        return w.Node("Gemm", path, inputs, Float("alpha", 1f), Float("beta", 1f), Int("transA", 0), Int("transB", 1));
    }

    // Inference batch norm with the running statistics: y = gamma (x - mean) / sqrt(var + eps) + beta.
    // ONNX's momentum weighs the old running value (ours weighs the new batch statistic), so it is 1 - ours.
    private static string BatchNorm(BatchNorm2D b, string path, string input, OnnxGraphWriter w)
    {
        return w.Node("BatchNormalization", path,
            [input,
             w.Parameter(path + ".weight", b.Gamma.Value),
             w.Parameter(path + ".bias", b.Beta.Value),
             w.Parameter(path + ".running_mean", b.RunningMean),
             w.Parameter(path + ".running_var", b.RunningVariance)],
            Float("epsilon", b.Epsilon), Float("momentum", 1f - b.Momentum));
    }

    // y = block(x) + skip(x): the block's layers in order, the projection (a strided 1x1 conv) or the identity, Add.
    private static string ResidualBlock(Residual r, string path, string input, OnnxGraphWriter w)
    {
        string h = input;
        foreach (var layer in r.Block) h = Export(layer, $"{path}/{layer.Name}", h, w);
        string skip = r.Projection is { } p ? Export(p, $"{path}/{p.Name}", input, w) : input;
        return w.Node("Add", path, [h, skip]);
    }

    // LeNet's trainable subsampling y[c] = w[c] * (sum of the k x k window) + b[c] is a depthwise convolution with
    // every tap of map c equal to w[c], stride k, and bias b.
    private static string Subsampling(Subsampling2D s, string path, string input, OnnxGraphWriter w)
    {
        int c = s.InputShape[0], k = s.PoolSize;
        var coefficient = s.Weight.Value.ToArray();
        var weight = new float[c * k * k];
        for (int i = 0; i < c; i++) weight.AsSpan(i * k * k, k * k).Fill(coefficient[i]);
        return w.Node("Conv", path,
            [input, w.Constant(path + ".weight", [c, 1, k, k], weight), w.Parameter(path + ".bias", s.Bias.Value)],
            Ints("kernel_shape", k, k), Ints("strides", k, k), Ints("pads", 0, 0, 0, 0), Ints("dilations", 1, 1), Int("group", c));
    }
}
