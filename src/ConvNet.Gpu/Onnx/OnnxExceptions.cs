namespace ConvNet.Gpu.Onnx;

/// <summary>
/// An ONNX file cannot be read: it is truncated, not a protobuf ModelProto at all, or violates the format (a required
/// field is missing, a tensor's data does not match its dims, a node refers to a value nobody produces). The message
/// names the file and what was expected and found. Raised by <see cref="OnnxModel"/> before any layer is built.
/// </summary>
public sealed class OnnxFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="source"/>; the message is prefixed with it.</summary>
    /// <param name="source">The file path (or "&lt;bytes&gt;" for an in-memory model).</param>
    /// <param name="problem">What was wrong: what was expected and what was found.</param>
    /// <param name="inner">The protobuf parser's exception, when there is one.</param>
    public OnnxFormatException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>The file (or "&lt;bytes&gt;").</summary>
    public new string Source { get; }

    /// <summary>What was wrong, without the file name.</summary>
    public string Problem { get; }
}

/// <summary>
/// A well-formed ONNX file uses something the importer cannot turn into layers with the same semantics: an operator
/// set outside the supported range, an operator outside the supported list, an attribute (or attribute value) the
/// layer cannot honour, a dynamic or unknown shape, or a data type other than float32. Raised before anything runs;
/// <see cref="Node"/>, <see cref="OpType"/> and <see cref="Attribute"/> say where.
/// </summary>
public sealed class OnnxUnsupportedException : NotSupportedException
{
    /// <summary>Creates the exception; the message starts with the file and, when given, the node, op and attribute.</summary>
    /// <param name="source">The file path (or "&lt;bytes&gt;").</param>
    /// <param name="node">The node's name (or its first output when it has no name); null when no node is involved.</param>
    /// <param name="opType">The node's operator, e.g. "Conv"; null when no node is involved.</param>
    /// <param name="attribute">The attribute (or input) at fault, e.g. "auto_pad"; null when the op itself is at fault.</param>
    /// <param name="problem">What is unsupported and, where there is one, what would be accepted.</param>
    public OnnxUnsupportedException(string source, string? node, string? opType, string? attribute, string problem)
        : base(Format(source, node, opType, attribute, problem))
    {
        Source = source;
        Node = node;
        OpType = opType;
        Attribute = attribute;
        Problem = problem;
    }

    /// <summary>The file (or "&lt;bytes&gt;").</summary>
    public new string Source { get; }

    /// <summary>The node at fault, or null.</summary>
    public string? Node { get; }

    /// <summary>The node's operator, or null.</summary>
    public string? OpType { get; }

    /// <summary>The attribute or input at fault, or null.</summary>
    public string? Attribute { get; }

    /// <summary>What was unsupported, without the location.</summary>
    public string Problem { get; }

    private static string Format(string source, string? node, string? opType, string? attribute, string problem)
    {
        string where = node is null ? "" : $"node '{node}' ({opType})" + (attribute is null ? "" : $", attribute '{attribute}'") + ": ";
        return $"{source}: {where}{problem}";
    }
}

/// <summary>
/// A model cannot be exported to ONNX: one of its layers has no ONNX equivalent, or the export options are invalid.
/// Raised before anything is written; <see cref="LayerName"/> and <see cref="LayerType"/> name the layer.
/// </summary>
public sealed class OnnxExportException : NotSupportedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="layerName">The layer's path in its model (e.g. "res1/conv1"), or null for an option error.</param>
    /// <param name="layerType">The layer's type name (e.g. "Conv2D"), or null for an option error.</param>
    /// <param name="problem">What cannot be exported and why.</param>
    public OnnxExportException(string? layerName, string? layerType, string problem)
        : base(layerName is null ? $"ONNX export: {problem}" : $"ONNX export: layer '{layerName}' ({layerType}): {problem}")
    {
        LayerName = layerName;
        LayerType = layerType;
    }

    /// <summary>The layer at fault, or null.</summary>
    public string? LayerName { get; }

    /// <summary>Its type name, or null.</summary>
    public string? LayerType { get; }
}
