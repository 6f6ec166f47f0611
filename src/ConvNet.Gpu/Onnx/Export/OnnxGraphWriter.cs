using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;

namespace ConvNet.Gpu.Onnx.Export;

/// <summary>
/// Accumulates one ONNX graph: nodes in the order they are added (which is topological, since a node is added after
/// the nodes producing its inputs), float and int64 initializers, and value-info shapes. Names of nodes, values and
/// initializers are unique within the graph: a clash gets a numeric suffix.
/// </summary>
internal sealed class OnnxGraphWriter
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<Tensor, string> _written = new(ReferenceEqualityComparer.Instance);
    private readonly Dim _batch;

    /// <param name="batch">The batch dimension written into every value's shape.</param>
    public OnnxGraphWriter(Dim batch) => _batch = batch;

    /// <summary>The graph being built.</summary>
    public GraphProto Graph { get; } = new();

    /// <summary>A batch dimension: a fixed size or a symbol.</summary>
    public readonly record struct Dim(long Value, string? Symbol);

    /// <summary><paramref name="name"/> if unused, else name_2, name_3, ...; the result is reserved.</summary>
    public string Unique(string name)
    {
        string candidate = name;
        for (int i = 2; !_names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    /// <summary>Adds a float32 initializer under a unique name derived from <paramref name="name"/> and returns that name.</summary>
    public string Constant(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        string unique = Unique(name);
        Graph.Initializer.Add(OnnxTensors.Float(unique, dims, values));
        return unique;
    }

    /// <summary>
    /// The initializer holding <paramref name="tensor"/>'s current values, written (from <paramref name="values"/>, or
    /// downloaded) the first time it is asked for: a parameter shared by several layer calls is one initializer.
    /// </summary>
    public string Parameter(string name, Tensor tensor, float[]? values = null)
    {
        if (_written.TryGetValue(tensor, out var existing)) return existing;
        string unique = Constant(name, tensor.Shape.Dimensions.Select(d => (long)d).ToArray(), values ?? tensor.ToArray());
        _written[tensor] = unique;
        return unique;
    }

    /// <summary>Adds an int64 initializer (a 1-D list such as pads or a shape) and returns its name.</summary>
    public string Int64Constant(string name, ReadOnlySpan<long> values)
    {
        string unique = Unique(name);
        Graph.Initializer.Add(OnnxTensors.Int64(unique, [values.Length], values));
        return unique;
    }

    /// <summary>
    /// Adds a node named <paramref name="name"/> (made unique) whose single output is a new value of the same name,
    /// and returns that output name. An empty input name is an omitted optional input.
    /// </summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string unique = Unique(name);
        var node = new NodeProto { Name = unique, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.Add(unique);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return unique;
    }

    /// <summary>Records the shape of value <paramref name="name"/>: the batch dimension followed by <paramref name="sample"/>.</summary>
    public void ValueInfo(string name, TensorShape sample) => Graph.ValueInfo.Add(Typed(name, sample));

    /// <summary>A float32 ValueInfoProto for <paramref name="name"/> of shape (batch, sample...).</summary>
    public ValueInfoProto Typed(string name, TensorShape sample)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(_batch.Symbol is null ? new TensorShapeProto.Types.Dimension { DimValue = _batch.Value }
            : new TensorShapeProto.Types.Dimension { DimParam = _batch.Symbol });
        foreach (int d in sample.Dimensions) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>Renames value <paramref name="from"/> to <paramref name="to"/> wherever a node produces or consumes it.</summary>
    public void RenameValue(string from, string to)
    {
        foreach (var node in Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
        }
        foreach (var v in Graph.ValueInfo) if (v.Name == from) v.Name = to;
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A STRING attribute (UTF-8).</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
