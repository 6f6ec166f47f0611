namespace ConvNet.Gpu.Onnx.Import;

/// <summary>
/// Evaluates, on the host, the ops that exporters use to compute shapes and paddings from constants (PyTorch writes
/// <c>x.view(x.size(0), -1)</c> as Shape, Gather, Unsqueeze, Concat and <c>F.pad</c> as ConstantOfShape, Concat,
/// Reshape, Slice, Transpose and Cast). Every shape in an imported graph is static, so these subgraphs are constants
/// and are folded away before any layer is built. Semantics follow the ONNX operator specs (opsets 13 to 21),
/// including negative axes and indices, Slice's clamping, and numpy broadcasting for the arithmetic ops.
/// </summary>
internal static class ConstantFolder
{
    /// <summary>The ops this folder evaluates (Shape is folded by the importer, which knows every value's shape).</summary>
    public static readonly IReadOnlySet<string> Ops = new HashSet<string>(StringComparer.Ordinal)
    {
        "Identity", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "ConstantOfShape", "Reshape", "Slice", "Transpose",
        "Add", "Sub", "Mul", "Div", "Neg",
    };

    /// <summary>Evaluates <paramref name="node"/> whose inputs (present ones) are all <paramref name="inputs"/>.</summary>
    public static HostTensor Fold(OnnxNode node, IReadOnlyList<HostTensor?> inputs)
    {
        HostTensor In(int i) => i < inputs.Count && inputs[i] is { } t ? t : throw node.Malformed($"input {i} is missing.");
        HostTensor? Optional(int i) => i < inputs.Count ? inputs[i] : null;
        var result = node.Op switch
        {
            "Identity" => In(0),
            "Cast" => Cast(node, In(0)),
            "Gather" => Gather(node, In(0), In(1)),
            "Unsqueeze" => Unsqueeze(node, In(0), In(1)),
            "Squeeze" => Squeeze(node, In(0), Optional(1)),
            "Concat" => Concat(node, Enumerable.Range(0, inputs.Count).Select(In).ToArray()),
            "ConstantOfShape" => ConstantOfShape(node, In(0)),
            "Reshape" => Reshape(node, In(0), In(1)),
            "Slice" => Slice(node, In(0), In(1), In(2), Optional(3), Optional(4)),
            "Transpose" => Transpose(node, In(0)),
            "Neg" => In(0).IsFloat ? HostTensor.Float(In(0).Dims, In(0).Floats!.Select(v => -v).ToArray()) : HostTensor.Int(In(0).Dims, In(0).Ints!.Select(v => -v).ToArray()),
            _ => Arithmetic(node, In(0), In(1)),
        };
        node.RejectUnreadAttributes();
        return result;
    }

    private static long Count(long[] dims) => dims.Aggregate(1L, (a, d) => a * d);

    private static int Axis(OnnxNode node, long axis, int rank, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw node.Malformed($"{what} {axis} is out of range for rank {rank}.");
        return (int)a;
    }

    private static long[] Strides(long[] dims)
    {
        var s = new long[dims.Length];
        long acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }

    // Builds a tensor of the same kind as `like` by picking source element map(i) for each output element i.
    private static HostTensor Pick(HostTensor like, long[] dims, Func<long, long> map)
    {
        long n = Count(dims);
        if (like.IsFloat)
        {
            var f = new float[n];
            for (long i = 0; i < n; i++) f[i] = like.Floats![map(i)];
            return HostTensor.Float(dims, f);
        }
        var v = new long[n];
        for (long i = 0; i < n; i++) v[i] = like.Ints![map(i)];
        return HostTensor.Int(dims, v);
    }

    private static HostTensor Cast(OnnxNode node, HostTensor x)
    {
        long to = node.Int("to", 0);
        node.Ignore("saturate");
        return to switch
        {
            1 or 10 or 11 or 16 => x.IsFloat ? x : HostTensor.Float(x.Dims, x.Ints!.Select(v => (float)v).ToArray()),
            9 => HostTensor.Int(x.Dims, x.IsFloat ? x.Floats!.Select(v => v != 0 ? 1L : 0L).ToArray() : x.Ints!.Select(v => v != 0 ? 1L : 0L).ToArray()),
            2 or 3 or 4 or 5 or 6 or 7 or 12 or 13 => x.IsFloat ? HostTensor.Int(x.Dims, x.Floats!.Select(v => (long)v).ToArray()) : x,
            _ => throw node.Unsupported("to", $"casting to element type {to} is not supported."),
        };
    }

    private static HostTensor Gather(OnnxNode node, HostTensor data, HostTensor indices)
    {
        if (indices.IsFloat) throw node.Malformed("the indices must be integers.");
        int rank = data.Dims.Length;
        int axis = Axis(node, node.Int("axis", 0), rank);
        long axisSize = data.Dims[axis];
        long inner = Count(data.Dims[(axis + 1)..]);
        long[] dims = [.. data.Dims[..axis], .. indices.Dims, .. data.Dims[(axis + 1)..]];
        long q = indices.Count;
        return Pick(data, dims, i =>
        {
            long outer = i / (q * inner), k = i / inner % q, r = i % inner;
            long idx = indices.Ints![k] < 0 ? indices.Ints[k] + axisSize : indices.Ints[k];
            if (idx < 0 || idx >= axisSize) throw node.Malformed($"index {indices.Ints[k]} is out of range for axis {axis} of size {axisSize}.");
            return (outer * axisSize + idx) * inner + r;
        });
    }

    private static HostTensor Unsqueeze(OnnxNode node, HostTensor x, HostTensor axes)
    {
        int rank = x.Dims.Length + (int)axes.Count;
        var set = axes.Ints!.Select(a => Axis(node, a, rank, "unsqueeze axis")).ToHashSet();
        var dims = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) dims[i] = set.Contains(i) ? 1 : x.Dims[j++];
        return Pick(x, dims, i => i);
    }

    private static HostTensor Squeeze(OnnxNode node, HostTensor x, HostTensor? axes)
    {
        var set = axes is null ? Enumerable.Range(0, x.Dims.Length).Where(i => x.Dims[i] == 1).ToHashSet()
            : axes.Ints!.Select(a => Axis(node, a, x.Dims.Length, "squeeze axis")).ToHashSet();
        if (set.Any(a => x.Dims[a] != 1)) throw node.Malformed($"cannot squeeze a dimension that is not 1 in {x.Shape}.");
        return Pick(x, x.Dims.Where((_, i) => !set.Contains(i)).ToArray(), i => i);
    }

    private static HostTensor Concat(OnnxNode node, HostTensor[] parts)
    {
        int rank = parts[0].Dims.Length;
        if (!node.Has("axis")) throw node.Malformed("the 'axis' attribute is required.");
        int axis = Axis(node, node.Int("axis", 0), rank);
        if (parts.Any(p => p.IsFloat != parts[0].IsFloat || p.Dims.Length != rank || Enumerable.Range(0, rank).Any(d => d != axis && p.Dims[d] != parts[0].Dims[d])))
            throw node.Malformed($"cannot concatenate {string.Join(", ", parts.Select(p => p.Shape))} on axis {axis}.");
        var dims = (long[])parts[0].Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        long outer = Count(dims[..axis]), inner = Count(dims[(axis + 1)..]);
        var floats = new List<float>();
        var ints = new List<long>();
        for (long o = 0; o < outer; o++)
            foreach (var p in parts)
            {
                long block = p.Dims[axis] * inner;
                for (long k = 0; k < block; k++)
                {
                    if (p.IsFloat) floats.Add(p.Floats![o * block + k]);
                    else ints.Add(p.Ints![o * block + k]);
                }
            }
        return parts[0].IsFloat ? HostTensor.Float(dims, floats.ToArray()) : HostTensor.Int(dims, ints.ToArray());
    }

    private static HostTensor ConstantOfShape(OnnxNode node, HostTensor shape)
    {
        if (shape.IsFloat || shape.Ints!.Any(d => d < 0)) throw node.Malformed($"the shape must be non-negative integers, got {shape}.");
        var value = node.Tensor("value") is { } t ? HostTensor.FromProto(t, node.Source) : HostTensor.Float([1], [0f]);
        if (value.Count != 1) throw node.Malformed("'value' must hold one element.");
        long n = Count(shape.Ints!);
        return value.IsFloat ? HostTensor.Float(shape.Ints!, Enumerable.Repeat(value.Floats![0], (int)n).ToArray())
            : HostTensor.Int(shape.Ints!, Enumerable.Repeat(value.Ints![0], (int)n).ToArray());
    }

    /// <summary>The dims of a Reshape of <paramref name="dims"/> to <paramref name="shape"/> (0 copies, -1 infers).</summary>
    public static long[] ReshapeDims(OnnxNode node, long[] dims, long[] shape, bool allowZero)
    {
        var result = new long[shape.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (infer >= 0) throw node.Malformed($"the shape {Format(shape)} has more than one -1.");
                infer = i;
                continue;
            }
            result[i] = shape[i] == 0 && !allowZero ? (i < dims.Length ? dims[i] : throw node.Malformed($"shape {Format(shape)} copies dimension {i} of {Format(dims)}, which does not exist."))
                : shape[i] >= 0 ? shape[i] : throw node.Malformed($"the shape {Format(shape)} has a negative entry.");
            known *= result[i];
        }
        long total = Count(dims);
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0) throw node.Malformed($"cannot reshape {Format(dims)} to {Format(shape)}.");
            result[infer] = total / known;
        }
        if (Count(result) != total) throw node.Malformed($"cannot reshape {Format(dims)} ({total} elements) to {Format(shape)}.");
        return result;
    }

    private static string Format(long[] dims) => "[" + string.Join(", ", dims) + "]";

    private static HostTensor Reshape(OnnxNode node, HostTensor x, HostTensor shape)
    {
        if (shape.IsFloat) throw node.Malformed("the shape must be integers.");
        var dims = ReshapeDims(node, x.Dims, shape.Ints!, node.Int("allowzero", 0) != 0);
        return Pick(x, dims, i => i);
    }

    private static HostTensor Slice(OnnxNode node, HostTensor x, HostTensor starts, HostTensor ends, HostTensor? axes, HostTensor? steps)
    {
        int rank = x.Dims.Length;
        long n = starts.Count;
        if (ends.Count != n || axes is not null && axes.Count != n || steps is not null && steps.Count != n)
            throw node.Malformed("starts, ends, axes and steps must have the same length.");
        var begin = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        var dims = (long[])x.Dims.Clone();
        for (int k = 0; k < n; k++)
        {
            int axis = Axis(node, axes?.Ints![k] ?? k, rank);
            long size = x.Dims[axis], s = steps?.Ints![k] ?? 1;
            if (s == 0) throw node.Malformed("a slice step is 0.");
            long b = starts.Ints![k], e = ends.Ints![k];
            if (b < 0) b += size;
            if (e < 0) e += size;
            // Clamp as the spec says: [0, size] for positive steps, [-1, size - 1] for negative ones.
            if (s > 0) { b = Math.Clamp(b, 0, size); e = Math.Clamp(e, 0, size); }
            else { b = Math.Clamp(b, -1, size - 1); e = Math.Clamp(e, -1, size - 1); }
            begin[axis] = b;
            step[axis] = s;
            dims[axis] = s > 0 ? Math.Max(0, (e - b + s - 1) / s) : Math.Max(0, (b - e - s - 1) / -s);
        }
        var inStrides = Strides(x.Dims);
        var outStrides = Strides(dims);
        return Pick(x, dims, i =>
        {
            long src = 0;
            for (int d = 0; d < rank; d++) src += (begin[d] + i / outStrides[d] % dims[d] * step[d]) * inStrides[d];
            return src;
        });
    }

    private static HostTensor Transpose(OnnxNode node, HostTensor x)
    {
        int rank = x.Dims.Length;
        var perm = node.Ints("perm")?.Select(p => Axis(node, p, rank, "perm entry")).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || perm.Distinct().Count() != rank) throw node.Malformed($"perm [{string.Join(", ", perm)}] is not a permutation of {rank} axes.");
        var dims = perm.Select(p => x.Dims[p]).ToArray();
        var inStrides = Strides(x.Dims);
        var outStrides = Strides(dims);
        return Pick(x, dims, i =>
        {
            long src = 0;
            for (int d = 0; d < rank; d++) src += i / outStrides[d] % dims[d] * inStrides[perm[d]];
            return src;
        });
    }

    // Add, Sub, Mul, Div with numpy broadcasting; integer division truncates toward zero (C semantics, as ORT).
    private static HostTensor Arithmetic(OnnxNode node, HostTensor a, HostTensor b)
    {
        if (a.IsFloat != b.IsFloat) throw node.Malformed($"the inputs have different element types ({a}, {b}).");
        int rank = Math.Max(a.Dims.Length, b.Dims.Length);
        long[] Pad(long[] d) => [.. Enumerable.Repeat(1L, rank - d.Length), .. d];
        long[] da = Pad(a.Dims), db = Pad(b.Dims);
        var dims = new long[rank];
        for (int i = 0; i < rank; i++)
            dims[i] = da[i] == db[i] || db[i] == 1 ? da[i] : da[i] == 1 ? db[i] : throw node.Malformed($"cannot broadcast {a.Shape} with {b.Shape}.");
        long[] sa = Strides(da), sb = Strides(db), so = Strides(dims);
        long Index(long i, long[] d, long[] s)
        {
            long idx = 0;
            for (int k = 0; k < rank; k++) idx += (d[k] == 1 ? 0 : i / so[k] % dims[k]) * s[k];
            return idx;
        }
        long n = Count(dims);
        if (a.IsFloat)
        {
            var r = new float[n];
            for (long i = 0; i < n; i++)
            {
                float x = a.Floats![Index(i, da, sa)], y = b.Floats![Index(i, db, sb)];
                r[i] = node.Op switch { "Add" => x + y, "Sub" => x - y, "Mul" => x * y, _ => x / y };
            }
            return HostTensor.Float(dims, r);
        }
        var v = new long[n];
        for (long i = 0; i < n; i++)
        {
            long x = a.Ints![Index(i, da, sa)], y = b.Ints![Index(i, db, sb)];
            v[i] = node.Op switch { "Add" => x + y, "Sub" => x - y, "Mul" => x * y, _ => y == 0 ? throw node.Malformed("integer division by zero.") : x / y };
        }
        return HostTensor.Int(dims, v);
    }
}
