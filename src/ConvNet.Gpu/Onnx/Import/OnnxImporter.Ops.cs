using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>The translation of each supported op (see docs/onnx.md, "Import", for the list and the rules).</summary>
internal sealed partial class OnnxImporter
{
    /// <summary>The ops the importer translates into layers or graph operations (besides the folded constant ops).</summary>
    public static readonly IReadOnlyList<string> SupportedOps =
    [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Concat",
        "BatchNormalization", "Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Softmax", "Flatten", "Reshape", "Resize",
        "Dropout", "Identity", "Constant", "Pad", "Shape",
    ];

    private void Lower(OnnxNode node)
    {
        if (node.Op == "Constant")
        {
            Bind(node, new Const(ConstantValue(node)));
        }
        else if (node.Op == "Shape")
        {
            Bind(node, new Const(ShapeOf(node)));
        }
        else if (ConstantFolder.Ops.Contains(node.Op) && AllInputsConstant(node))
        {
            var inputs = Enumerable.Range(0, node.InputCount).Select(i => ResolveOptional(node, i) is Const c ? c.Tensor : null).ToList();
            Bind(node, new Const(ConstantFolder.Fold(node, inputs)));
            return;
        }
        else
        {
            switch (node.Op)
            {
                case "Conv": Conv(node); break;
                case "ConvTranspose": ConvTranspose(node); break;
                case "MaxPool": case "AveragePool": Pool(node); break;
                case "GlobalAveragePool": GlobalAveragePool(node); break;
                case "Gemm": Gemm(node); break;
                case "MatMul": MatMul(node); break;
                case "Add": Add(node); break;
                case "Concat": Concat(node); break;
                case "BatchNormalization": BatchNormalization(node); break;
                case "Relu": AddLayer(node, Activation(node, 0), new ReLU(), []); break;
                case "LeakyRelu": AddLayer(node, Activation(node, 0), new LeakyReLU(node.Float("alpha", 0.01f)), []); break;
                case "Elu": AddLayer(node, Activation(node, 0), new ELU(node.Float("alpha", 1f)), []); break;
                case "Sigmoid": AddLayer(node, Activation(node, 0), new Sigmoid(), []); break;
                case "Tanh": AddLayer(node, Activation(node, 0), new Tanh(), []); break;
                case "Softmax": Softmax(node); break;
                case "Flatten": Flatten(node); break;
                case "Reshape": Reshape(node); break;
                case "Resize": Resize(node); break;
                case "Dropout": Dropout(node); break;
                case "Identity": Bind(node, Resolve(node, 0)); break;
                case "Pad": Pad(node); break;
                default:
                    throw node.Unsupported(null, ConstantFolder.Ops.Contains(node.Op)
                        ? $"{node.Op} on computed tensors is not supported (only on constants, which are folded)."
                        : $"the op is not supported. Supported ops: {string.Join(", ", SupportedOps)}, and on constants {string.Join(", ", ConstantFolder.Ops)}.");
            }
        }
        node.RejectUnreadAttributes();
    }

    private bool AllInputsConstant(OnnxNode node) =>
        Enumerable.Range(0, node.InputCount).All(i => node.Input(i).Length == 0 || _values[node.Input(i)] is Const);

    private static HostTensor ConstantValue(OnnxNode node)
    {
        if (node.Tensor("value") is { } t) return HostTensor.FromProto(t, node.Source);
        if (node.Has("value_float")) return HostTensor.Float([], [node.Float("value_float", 0)]);
        if (node.Has("value_int")) return HostTensor.Int([], [node.Int("value_int", 0)]);
        if (node.Floats("value_floats") is { } fs) return HostTensor.Float([fs.Length], fs);
        if (node.Ints("value_ints") is { } vs) return HostTensor.Vector(vs);
        throw node.Unsupported(null, "only value, value_float(s) and value_int(s) constants are supported.");
    }

    // Shape of a computed tensor (all static) or of a constant, with opset 15's start and end.
    private HostTensor ShapeOf(OnnxNode node)
    {
        long[] dims = Resolve(node, 0) switch
        {
            Const c => c.Tensor.Dims,
            Act a => a.Dims,
            Padded p => [p.Source.Dims[0], p.Source.Dims[1], p.Source.Dims[2] + p.Pads[0] + p.Pads[2], p.Source.Dims[3] + p.Pads[1] + p.Pads[3]],
            _ => throw node.Malformed("unexpected input."),
        };
        long rank = dims.Length;
        long Clamp(long v) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        long start = Clamp(node.Int("start", 0)), end = Clamp(node.Int("end", rank));
        return HostTensor.Vector(dims[(int)start..(int)Math.Max(start, end)]);
    }

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

    private void GlobalAveragePool(OnnxNode node)
    {
        var x = Activation(node, 0, 4);
        // Followed only by flattening (Flatten, or a Reshape to (N, C)): our GlobalAvgPool2D, which outputs (N, C).
        // Otherwise a full-map average pooling that keeps (N, C, 1, 1).
        bool flattened = !_graphOutputs.Contains(node.Proto.Output[0]) && _consumers.TryGetValue(node.Proto.Output[0], out var users)
            && users.All(u => u.Op is "Flatten" or "Reshape");
        if (flattened) AddLayer(node, x, new GlobalAvgPool2D(), [], flatOutput: true);
        else AddLayer(node, x, new AvgPool2D(new Pool2dSpec((int)x.Dims[2], (int)x.Dims[3])), []);
    }

    private void Flatten(OnnxNode node)
    {
        var x = Activation(node, 0);
        long axis = node.Int("axis", 1);
        if (axis < 0) axis += x.Rank;
        if (axis != 1) throw node.Unsupported("axis", $"Flatten with axis {node.Int("axis", 1)} is not supported; only axis 1 (keep the batch) is.");
        FlattenTo(node, x);
    }

    private void FlattenTo(OnnxNode node, Act x)
    {
        if (x.Flat) Bind(node, new Act(x.Id, [x.Dims[0], x.Dims[1]]));
        else if (x.Rank == 2) Bind(node, x);
        else AddLayer(node, x, new Flatten(), []);
    }

    // The flatten pattern: a reshape to (N, C*H*W), whatever way the shape was computed; or a reshape to the same shape.
    private void Reshape(OnnxNode node)
    {
        var x = Activation(node, 0);
        var shape = Constant(node, 1, "shape");
        if (shape.IsFloat) throw node.Malformed("the shape must be int64.");
        var target = ConstantFolder.ReshapeDims(node, x.Dims, shape.Ints!, node.Int("allowzero", 0) != 0);
        if (target.SequenceEqual(x.Dims) && !x.Flat) Bind(node, x);
        else if (target.Length == 2 && target[0] == x.Dims[0]) FlattenTo(node, x);
        else
            throw node.Unsupported("shape", $"Reshape of {Dims(x.Dims)} to {Dims(target)} is not supported; the importer supports the flatten pattern, a reshape to (N, features).");
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
        if (!_graphOutputs.Contains(output) && _consumers.TryGetValue(output, out var users) && users.Count == 1 && users[0].Op == "Add")
        {
            var other = users[0].Input(0) == output ? users[0].Input(1) : users[0].Input(0);
            if (_values.TryGetValue(other, out var v) && v is Const { Tensor: var bias } && bias.IsFloat && bias.Count == units && bias.Dims.Length <= 2)
            {
                add = users[0];
                weights["bias"] = Bias(add, bias, "bias", units, 1f);
            }
        }
        var act = AddLayer(node, a, new Dense((int)units, useBias: add is not null), weights);
        if (add is not null)
        {
            _fused.Add(add);
            Bind(add, act);
        }
    }

    private void Add(OnnxNode node)
    {
        if (Resolve(node, 0) is Const || Resolve(node, 1) is Const)
            throw node.Unsupported(null, "adding a constant is supported only as the bias of a MatMul (x @ W + b); other broadcasts are not.");
        var a = Activation(node, 0);
        var b = Activation(node, 1);
        if (!a.Dims.SequenceEqual(b.Dims))
            throw node.Unsupported(null, $"Add of {Dims(a.Dims)} and {Dims(b.Dims)} is not supported; both operands must have the same shape (no broadcasting).");
        string id = Unique(node.Name);
        _graph.Ops.Add(new AddOp(node.Name, [a.Id, b.Id], id, a.Sample));
        Bind(node, new Act(id, a.Dims));
    }

    private void Concat(OnnxNode node)
    {
        var parts = Enumerable.Range(0, node.InputCount).Select(i => Activation(node, i)).ToList();
        int rank = parts[0].Rank;
        if (!node.Has("axis")) throw node.Malformed("the 'axis' attribute is required.");
        long axis = node.Int("axis", 1);
        if (axis < 0) axis += rank;
        if (axis != 1) throw node.Unsupported("axis", $"Concat along axis {node.Int("axis", 1)} is not supported; only the channel (or feature) axis 1 is.");
        if (parts.Any(p => p.Rank != rank || Enumerable.Range(0, rank).Any(d => d != 1 && p.Dims[d] != parts[0].Dims[d])))
            throw node.Malformed($"cannot concatenate {string.Join(", ", parts.Select(p => Dims(p.Dims)))} along axis 1.");
        long[] dims = (long[])parts[0].Dims.Clone();
        dims[1] = parts.Sum(p => p.Dims[1]);
        string id = Unique(node.Name);
        var act = new Act(id, dims);
        _graph.Ops.Add(new ConcatOp(node.Name, parts.Select(p => p.Id).ToList(), id, act.Sample));
        Bind(node, act);
    }

    // Inference-mode batch norm with the running statistics; ONNX's momentum weighs the old running value, ours the new.
    private void BatchNormalization(OnnxNode node)
    {
        var x = Activation(node, 0);
        long c = x.Dims[1];
        if (node.Int("training_mode", 0) != 0)
            throw node.Unsupported("training_mode", "training_mode = 1 (batch statistics at inference) is not supported; export the model in eval mode.");
        var weights = new Dictionary<string, float[]>
        {
            ["gamma"] = Floats(node, Constant(node, 1, "scale"), "scale", c),
            ["beta"] = Floats(node, Constant(node, 2, "B"), "B", c),
            ["running_mean"] = Floats(node, Constant(node, 3, "input_mean"), "input_mean", c),
            ["running_var"] = Floats(node, Constant(node, 4, "input_var"), "input_var", c),
        };
        float momentum = node.Float("momentum", 0.9f);
        node.Ignore("spatial"); // opset < 9 only; ours is always per channel
        AddLayer(node, x, new BatchNorm2D(1f - momentum, node.Float("epsilon", 1e-5f)), weights);
    }

    private void Softmax(OnnxNode node)
    {
        var x = Activation(node, 0);
        long axis = node.Int("axis", -1);
        if (axis < 0) axis += x.Rank;
        if (x.Rank != 2 || axis != 1)
            throw node.Unsupported("axis", $"Softmax over axis {node.Int("axis", -1)} of {Dims(x.Dims)} is not supported; only over the features of (N, F).");
        AddLayer(node, x, new Softmax(), []);
    }

    private void Dropout(OnnxNode node)
    {
        var x = Activation(node, 0);
        float ratio = OptionalConstant(node, 1, "ratio") is { } r ? Floats(node, r, "ratio", 1)[0] : 0.5f;
        if (OptionalConstant(node, 2, "training_mode") is { } t && (t.IsFloat ? t.Floats![0] != 0 : t.Ints![0] != 0))
            throw node.Unsupported("training_mode", "training_mode = true (dropping at inference) is not supported.");
        node.Ignore("seed"); // our dropout draws from its own seeded stream
        AddLayer(node, x, new Dropout(ratio), []);
    }

    // A zero Pad of the spatial dimensions, kept until its consumer (a Conv or an AveragePool) folds it in.
    private void Pad(OnnxNode node)
    {
        var x = Activation(node, 0, 4);
        var pads = Constant(node, 1, "pads");
        string mode = node.String("mode", "constant");
        if (mode != "constant") throw node.Unsupported("mode", $"Pad mode '{mode}' is not supported; only constant (zero) padding is.");
        if (OptionalConstant(node, 2, "constant_value") is { } v && (v.IsFloat ? v.Floats![0] != 0 : v.Ints![0] != 0))
            throw node.Unsupported("constant_value", $"padding with {v} is not supported; only zeros are.");
        long[] all = pads.Ints ?? throw node.Malformed("pads must be int64.");
        if (OptionalConstant(node, 3, "axes") is { } axes)
        {
            // Opset 18: pads for the listed axes only.
            var expanded = new long[8];
            for (int i = 0; i < axes.Count; i++)
            {
                long axis = axes.Ints![i] < 0 ? axes.Ints[i] + 4 : axes.Ints[i];
                expanded[axis] = all[i];
                expanded[axis + 4] = all[i + axes.Count];
            }
            all = expanded;
        }
        if (all.Length != 8 || all[0] != 0 || all[1] != 0 || all[4] != 0 || all[5] != 0 || all.Any(p => p < 0))
            throw node.Unsupported("pads", $"pads [{string.Join(", ", all)}] are not supported; only non-negative padding of height and width is.");
        if (!_consumers.TryGetValue(node.Proto.Output[0], out var users) || users.Count != 1 || _graphOutputs.Contains(node.Proto.Output[0]))
            throw node.Unsupported(null, "a Pad is supported only when its output feeds exactly one Conv or AveragePool.");
        Bind(node, new Padded(x, [all[2], all[3], all[6], all[7]], node.Name));
    }
}
