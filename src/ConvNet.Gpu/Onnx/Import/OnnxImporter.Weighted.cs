using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>The ops with weights: Conv, ConvTranspose, Gemm and MatMul, and the padding and kernel attributes they share with pooling.</summary>
internal sealed partial class OnnxImporter
{
    /// <summary>Per-side pads (top, left, bottom, right) from auto_pad or pads, for a kernel of effective size keff.</summary>
    private static long[] Pads(OnnxNode node, Act x, long[] kernel, long[] strides, long[] dilations)
    {
        string autoPad = node.String("auto_pad", "NOTSET");
        var pads = node.Ints("pads");
        if (autoPad != "NOTSET" && pads is not null) throw node.Malformed($"has both auto_pad={autoPad} and pads.");
        switch (autoPad)
        {
            case "NOTSET":
                pads ??= new long[4];
                if (pads.Length != 4 || pads.Any(p => p < 0))
                    throw node.Unsupported("pads", $"pads [{string.Join(", ", pads)}] must be 4 non-negative values for a 2-D op.");
                return pads;
            case "VALID":
                return new long[4];
            case "SAME_UPPER":
            case "SAME_LOWER":
                var result = new long[4];
                for (int axis = 0; axis < 2; axis++)
                {
                    long size = x.Dims[2 + axis], keff = (kernel[axis] - 1) * dilations[axis] + 1;
                    long total = Math.Max(((size + strides[axis] - 1) / strides[axis] - 1) * strides[axis] + keff - size, 0);
                    long small = total / 2;
                    result[axis] = autoPad == "SAME_UPPER" ? small : total - small;
                    result[axis + 2] = total - result[axis];
                }
                return result;
            default:
                throw node.Unsupported("auto_pad", $"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER.");
        }
    }

    private static long[] Pair(OnnxNode node, string attribute, long fallback)
    {
        var v = node.Ints(attribute) ?? [fallback, fallback];
        if (v.Length != 2) throw node.Unsupported(attribute, $"{attribute} [{string.Join(", ", v)}] must have 2 values; only 2-D ops are supported.");
        if (v.Any(x => x < 1) && attribute != "output_padding") throw node.Malformed($"{attribute} [{string.Join(", ", v)}] must be positive.");
        return v;
    }

    private static long[] Kernel(OnnxNode node, long[]? weightDims)
    {
        var k = node.Ints("kernel_shape");
        if (k is null && weightDims is null) throw node.Malformed("kernel_shape is required.");
        k ??= [weightDims![2], weightDims[3]];
        if (k.Length != 2) throw node.Unsupported("kernel_shape", $"kernel_shape [{string.Join(", ", k)}] must have 2 values; only 2-D ops are supported.");
        if (weightDims is not null && (k[0] != weightDims[2] || k[1] != weightDims[3]))
            throw node.Malformed($"kernel_shape [{string.Join(", ", k)}] disagrees with the weight's {Dims(weightDims)}.");
        return k;
    }

    private void Conv(OnnxNode node)
    {
        var (x, extraPads) = ConvInput(node);
        var w = Constant(node, 1, "weight");
        if (w.Dims.Length != 4) throw node.Unsupported("weight", $"the weight has shape {w.Shape}; only 2-D convolutions (rank-4 weights) are supported.");
        var b = OptionalConstant(node, 2, "bias");
        long group = node.Int("group", 1);
        var kernel = Kernel(node, w.Dims);
        var strides = Pair(node, "strides", 1);
        var dilations = Pair(node, "dilations", 1);
        var pads = Pads(node, x, kernel, strides, dilations);
        for (int i = 0; i < 4; i++) pads[i] += extraPads[i];
        if (w.Dims[1] * group != x.Dims[1])
            throw node.Malformed($"the weight {w.Shape} with group={group} needs {w.Dims[1] * group} input channels, the input has {x.Dims[1]}.");
        int k = (int)w.Dims[0];
        var spec = new Conv2dSpec((int)kernel[0], (int)kernel[1], (int)strides[0], (int)strides[1],
            Padding2d.Explicit((int)pads[0], (int)pads[2], (int)pads[1], (int)pads[3]), (int)dilations[0], (int)dilations[1], (int)group);
        var weights = new Dictionary<string, float[]> { ["weight"] = Floats(node, w, "weight") };
        if (b is not null) weights["bias"] = Floats(node, b, "bias", k);
        AddLayer(node, x, new Conv2D(k, spec, useBias: b is not null), weights);
    }

    // A convolution's input, with the zeros of a Pad node directly before it folded into the convolution's own padding.
    private (Act Input, long[] Pads) ConvInput(OnnxNode node)
    {
        if (Resolve(node, 0) is Padded p) return (p.Source, p.Pads);
        return (Activation(node, 0, 4), new long[4]);
    }

    // ConvTranspose: weight (Cin, Cout/group, KH, KW), our layout. Our layer pads both ends by p and adds the output
    // padding at the end; ONNX pads (b, e) with output padding op are the same as p = b and output padding
    // op + b - e, which must lie in [0, stride).
    private void ConvTranspose(OnnxNode node)
    {
        var x = Activation(node, 0, 4);
        var w = Constant(node, 1, "weight");
        if (w.Dims.Length != 4) throw node.Unsupported("weight", $"the weight has shape {w.Shape}; only 2-D transposed convolutions are supported.");
        var b = OptionalConstant(node, 2, "bias");
        if (node.Has("output_shape"))
            throw node.Unsupported("output_shape", "output_shape is not supported; export with pads and output_padding instead (PyTorch does).");
        string autoPad = node.String("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID")) throw node.Unsupported("auto_pad", $"auto_pad '{autoPad}' is not supported for ConvTranspose; give pads.");
        long group = node.Int("group", 1);
        var kernel = Kernel(node, w.Dims);
        var strides = Pair(node, "strides", 1);
        var dilations = Pair(node, "dilations", 1);
        var outputPadding = Pair(node, "output_padding", 0);
        var pads = autoPad == "VALID" ? new long[4] : node.Ints("pads") ?? new long[4];
        if (pads.Length != 4 || pads.Any(p => p < 0)) throw node.Unsupported("pads", $"pads [{string.Join(", ", pads)}] must be 4 non-negative values.");
        if (w.Dims[0] != x.Dims[1]) throw node.Malformed($"the weight {w.Shape} needs {w.Dims[0]} input channels, the input has {x.Dims[1]}.");
        var op = new long[2];
        for (int axis = 0; axis < 2; axis++)
        {
            op[axis] = outputPadding[axis] + pads[axis] - pads[axis + 2];
            if (op[axis] < 0 || op[axis] >= strides[axis])
                throw node.Unsupported("pads", $"pads [{string.Join(", ", pads)}] with output_padding [{string.Join(", ", outputPadding)}] and strides [{string.Join(", ", strides)}] " +
                    "cannot be written as symmetric padding plus an output padding smaller than the stride, which is what our ConvTranspose2D has.");
        }
        int cout = (int)(w.Dims[1] * group);
        var layer = new ConvTranspose2D(cout, ((int)kernel[0], (int)kernel[1]), ((int)strides[0], (int)strides[1]), ((int)pads[0], (int)pads[1]),
            ((int)op[0], (int)op[1]), ((int)dilations[0], (int)dilations[1]), (int)group, useBias: b is not null);
        var weights = new Dictionary<string, float[]> { ["weight"] = Floats(node, w, "weight") };
        if (b is not null) weights["bias"] = Floats(node, b, "bias", cout);
        AddLayer(node, x, layer, weights);
    }

    private void Gemm(OnnxNode node)
    {
        var a = Activation(node, 0, 2);
        var bt = Constant(node, 1, "B");
        var c = OptionalConstant(node, 2, "C");
        if (node.Int("transA", 0) != 0) throw node.Unsupported("transA", "transA = 1 is not supported (the batch must be the rows of A).");
        float alpha = node.Float("alpha", 1f), beta = node.Float("beta", 1f);
        bool transB = node.Int("transB", 0) != 0;
        if (bt.Dims.Length != 2) throw node.Malformed($"B has shape {bt.Shape}, not a matrix.");
        long f = a.Dims[1];
        long units = transB ? bt.Dims[0] : bt.Dims[1];
        if ((transB ? bt.Dims[1] : bt.Dims[0]) != f) throw node.Malformed($"A is {Dims(a.Dims)} but B is {bt.Shape} (transB={(transB ? 1 : 0)}).");
        var weight = DenseWeight(node, bt, transB, alpha);
        var weights = new Dictionary<string, float[]> { ["weight"] = weight };
        if (c is not null) weights["bias"] = Bias(node, c, "C", units, beta);
        AddLayer(node, a, new Dense((int)units, useBias: c is not null), weights);
    }

    // Our Dense weight is (units, F): B itself when transposed (transB = 1), else B (F, units) transposed; times alpha.
    private static float[] DenseWeight(OnnxNode node, HostTensor b, bool transposed, float alpha)
    {
        var values = Floats(node, b, "B");
        long rows = b.Dims[0], cols = b.Dims[1];
        var w = new float[values.Length];
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++)
                w[transposed ? i * cols + j : j * rows + i] = alpha * values[i * cols + j];
        return w;
    }

    // A bias broadcast along the batch: shape [], [1], [units] or [1, units]; times beta.
    private static float[] Bias(OnnxNode node, HostTensor c, string what, long units, float beta)
    {
        var values = Floats(node, c, what);
        bool perUnit = c.Count == units && (c.Dims.Length == 1 || c.Dims.Length == 2 && c.Dims[0] == 1);
        bool scalar = c.Count == 1;
        if (!perUnit && !scalar) throw node.Unsupported(what, $"a bias of shape {c.Shape} is not supported; it must broadcast along the batch ([{units}] or [1, {units}]).");
        var bias = new float[units];
        for (long j = 0; j < units; j++) bias[j] = beta * values[perUnit ? j : 0];
        return bias;
    }

    // MatMul(x, W) with W (F, units) constant is Dense; when its only use is an Add of a constant bias, that Add is fused.
    private void MatMul(OnnxNode node)
    {
        var a = Activation(node, 0, 2);
        var b = Constant(node, 1, "B");
        if (b.Dims.Length != 2 || b.Dims[0] != a.Dims[1]) throw node.Unsupported("B", $"MatMul of {Dims(a.Dims)} by {b.Shape} is not supported; B must be a (features, units) matrix.");
        long units = b.Dims[1];
        var weights = new Dictionary<string, float[]> { ["weight"] = DenseWeight(node, b, false, 1f) };
        string output = node.Proto.Output[0];
        OnnxNode? add = null;
        string? biasSource = null;
        if (!_graphOutputs.Contains(output) && _consumers.TryGetValue(output, out var users) && users.Count == 1 && users[0].Op == "Add")
        {
            var other = users[0].Input(0) == output ? users[0].Input(1) : users[0].Input(0);
            if (_values.TryGetValue(other, out var v) && v is Const { Tensor: var bias } && bias.IsFloat && bias.Count == units && bias.Dims.Length <= 2)
            {
                add = users[0];
                biasSource = other;
                weights["bias"] = Bias(add, bias, "bias", units, 1f);
            }
        }
        var act = AddLayer(node, a, new Dense((int)units, useBias: add is not null), weights, weightSources: [node.Input(1), biasSource ?? ""]);
        if (add is not null)
        {
            _fused.Add(add);
            Bind(add, act);
        }
    }
}
