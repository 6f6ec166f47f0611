using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>The dispatch of each node to its translation, and the ops without weights (see docs/onnx.md, "Import").</summary>
internal sealed partial class OnnxImporter
{
    /// <summary>The ops the importer translates into layers or graph operations (besides the folded constant ops).</summary>
    public static readonly IReadOnlyList<string> SupportedOps =
    [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Sum", "Concat",
        "BatchNormalization", "Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Softmax", "Flatten", "Reshape", "Resize",
        "Dropout", "Identity", "Constant", "Pad", "Shape", "Sub", "Div",
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
                case "Add": case "Sum": Add(node); break;
                case "Sub": case "Div": ChannelConstant(node); break;
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

    // Add (two operands) or Sum (one or more, what our export writes for a three-way Add): the graph's Add merge.
    private void Add(OnnxNode node)
    {
        if (node.InputCount == 0) throw node.Malformed("Sum needs at least one input.");
        if (Enumerable.Range(0, node.InputCount).Any(i => Resolve(node, i) is Const))
            throw node.Unsupported(null, "adding a constant is supported only as the bias of a MatMul (x @ W + b); other broadcasts are not.");
        var operands = Enumerable.Range(0, node.InputCount).Select(i => Activation(node, i)).ToList();
        if (operands.Any(o => !o.Dims.SequenceEqual(operands[0].Dims)))
            throw node.Unsupported(null, $"{node.Op} of {string.Join(", ", operands.Select(o => Dims(o.Dims)))} is not supported; all operands must have the same shape (no broadcasting).");
        if (operands.Count == 1)
        {
            Bind(node, operands[0]);
            return;
        }
        string id = Unique(node.Name);
        _graph.Ops.Add(new AddOp(node.Name, operands.Select(o => o.Id).ToList(), id, operands[0].Sample));
        Bind(node, new Act(id, operands[0].Dims));
    }

    // x - c or x / c with a constant c of one value per channel (axis 1) or one value in all: a Normalize layer,
    // (x - c) / 1 or (x - 0) / c. A Sub whose only use is such a Div (our Normalize layer's export) is fused with it into
    // one Normalize (x - mean) / std, so export -> import -> export gives back the same two constants.
    private void ChannelConstant(OnnxNode node)
    {
        var x = Activation(node, 0);
        float[] values = ChannelValues(node, x);
        if (node.Op == "Div")
        {
            AddLayer(node, x, new Normalize(new float[values.Length], values), []);
            return;
        }
        string output = node.Proto.Output[0];
        if (!_graphOutputs.Contains(output) && _consumers.TryGetValue(output, out var users) && users.Count == 1 && users[0].Op == "Div"
            && users[0].Input(0) == output && _values.TryGetValue(users[0].Input(1), out var d) && d is Const)
        {
            var div = users[0];
            float[] std = ChannelValues(div, x);
            if (std.Length == values.Length || std.Length == 1 || values.Length == 1)
            {
                int n = Math.Max(std.Length, values.Length);
                var act = AddLayer(node, x, new Normalize([.. Enumerable.Range(0, n).Select(i => values[values.Length == 1 ? 0 : i])],
                    [.. Enumerable.Range(0, n).Select(i => std[std.Length == 1 ? 0 : i])]), []);
                _fused.Add(div);
                Bind(div, act);
                return;
            }
        }
        AddLayer(node, x, new Normalize(values, [.. values.Select(_ => 1f)]), []);
    }

    // The constant operand of a Sub or Div on x: one value, or one per channel broadcasting along axis 1 only (a Div's
    // finite and positive).
    private float[] ChannelValues(OnnxNode node, Act x)
    {
        var c = Resolve(node, 1) is Const ? Constant(node, 1, "constant")
            : throw node.Unsupported(null, $"{node.Op} of two computed tensors is not supported; only {node.Op} of a per-channel constant is.");
        long channels = x.Dims[1];
        int offset = x.Rank - c.Dims.Length; // right-aligned broadcast
        bool perChannel = offset >= 0 && c.Dims.Select((d, i) => i + offset == 1 ? d == channels || d == 1 : d == 1).All(ok => ok);
        if (!perChannel || !(c.Count == 1 || c.Count == channels))
            throw node.Unsupported(null, $"{node.Op} by a constant of shape {Dims(c.Dims)} on {Dims(x.Dims)} is not supported; only one value per channel (axis 1) or one value is.");
        float[] values = Floats(node, c, "constant");
        if (node.Op == "Div" && values.Any(v => !(v > 0) || !float.IsFinite(v)))
            throw node.Unsupported(null, $"Div by {string.Join(", ", values)} is not supported; only by finite positive constants (a standard deviation).");
        return values;
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
