using System.Text;
using ConvNet.Gpu.Onnx.Protos;
using AttributeType = ConvNet.Gpu.Onnx.Protos.AttributeProto.Types.AttributeType;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>
/// One node of the graph being imported, with typed access to its attributes. Every attribute read is recorded, so
/// that <see cref="RejectUnreadAttributes"/> can refuse the attributes a conversion did not honour; errors name the
/// node, its op and the attribute.
/// </summary>
internal sealed class OnnxNode
{
    private readonly Dictionary<string, AttributeProto> _attributes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public OnnxNode(NodeProto proto, string source)
    {
        Proto = proto;
        Source = source;
        Name = !string.IsNullOrEmpty(proto.Name) ? proto.Name : proto.Output.FirstOrDefault(o => o.Length > 0) ?? $"<{proto.OpType} node>";
        foreach (var a in proto.Attribute)
        {
            if (!_attributes.TryAdd(a.Name, a))
                throw new OnnxFormatException(source, $"node '{Name}' ({proto.OpType}) has attribute '{a.Name}' twice.");
            if (a.HasRefAttrName)
                throw Unsupported(a.Name, $"refers to the function attribute '{a.RefAttrName}', which only a function body may do.");
        }
    }

    public NodeProto Proto { get; }

    public string Source { get; }

    /// <summary>The node's name, or its first output when it has none.</summary>
    public string Name { get; }

    public string Op => Proto.OpType;

    /// <summary>Input <paramref name="index"/>, or "" when absent or omitted.</summary>
    public string Input(int index) => index < Proto.Input.Count ? Proto.Input[index] : "";

    public int InputCount => Proto.Input.Count;

    public bool Has(string attribute) => _attributes.ContainsKey(attribute);

    public long Int(string name, long fallback) => Get(name, AttributeType.Int) is { } a ? a.I : fallback;

    public float Float(string name, float fallback) => Get(name, AttributeType.Float) is { } a ? a.F : fallback;

    public string String(string name, string fallback) => Get(name, AttributeType.String) is { } a ? Encoding.UTF8.GetString(a.S.Span) : fallback;

    public long[]? Ints(string name) => Get(name, AttributeType.Ints)?.Ints.ToArray();

    public float[]? Floats(string name) => Get(name, AttributeType.Floats)?.Floats.ToArray();

    public TensorProto? Tensor(string name) => Get(name, AttributeType.Tensor)?.T;

    /// <summary>Marks an attribute as honoured without reading it (e.g. one that does not affect our computation).</summary>
    public void Ignore(string name) => _read.Add(name);

    private AttributeProto? Get(string name, AttributeType type)
    {
        _read.Add(name);
        if (!_attributes.TryGetValue(name, out var a)) return null;
        // IR version 1 files have no type field; then the populated value decides.
        var actual = a.HasType ? a.Type : Infer(a);
        if (actual != type)
            throw new OnnxFormatException(Source, $"node '{Name}' ({Op}): attribute '{name}' must be {type.ToString().ToUpperInvariant()}, found {actual.ToString().ToUpperInvariant()}.");
        return a;
    }

    private static AttributeType Infer(AttributeProto a) =>
        a.HasF ? AttributeType.Float : a.HasI ? AttributeType.Int : a.HasS ? AttributeType.String : a.T is not null ? AttributeType.Tensor
        : a.Ints.Count > 0 ? AttributeType.Ints : a.Floats.Count > 0 ? AttributeType.Floats : AttributeType.Undefined;

    /// <summary>Refuses every attribute the conversion did not read, naming the first one.</summary>
    public void RejectUnreadAttributes()
    {
        foreach (var name in _attributes.Keys)
            if (!_read.Contains(name))
                throw Unsupported(name, $"the attribute is not supported by the importer's {Op} (supported: {string.Join(", ", _read.Order(StringComparer.Ordinal))}).");
    }

    /// <summary>An <see cref="OnnxUnsupportedException"/> at this node (and attribute, when given).</summary>
    public OnnxUnsupportedException Unsupported(string? attribute, string problem) => new(Source, Name, Op, attribute, problem);

    /// <summary>An <see cref="OnnxFormatException"/> at this node.</summary>
    public OnnxFormatException Malformed(string problem) => new(Source, $"node '{Name}' ({Op}): {problem}");
}
