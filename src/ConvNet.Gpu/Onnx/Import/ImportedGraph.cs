using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>
/// An ONNX graph translated into our terms, before anything is built or allocated: the inputs with their per-sample
/// shapes, the operations in topological order (layers with their weights, element-wise sums, channel
/// concatenations), and the outputs. Values are named by the ONNX value that carries them.
/// </summary>
internal sealed class ImportedGraph
{
    public required string Name { get; init; }

    public required string Source { get; init; }

    public required int Opset { get; init; }

    /// <summary>The producer named in the file (e.g. "pytorch 1.13.0a0"), for messages.</summary>
    public required string Producer { get; init; }

    public List<ImportedInput> Inputs { get; } = [];

    public List<ImportedOp> Ops { get; } = [];

    /// <summary>The values the graph returns, in output order.</summary>
    public List<string> Outputs { get; } = [];

    /// <summary>The ONNX output names, in output order.</summary>
    public List<string> OutputNames { get; } = [];
}

/// <summary>A graph input: its ONNX value name, the (sanitized, unique) name our model gives it, and its per-sample shape.</summary>
internal sealed record ImportedInput(string Value, string Name, TensorShape Sample);

/// <summary>One operation of an imported graph: reads <see cref="Inputs"/>, writes <see cref="Output"/>.</summary>
internal abstract record ImportedOp(string Name, IReadOnlyList<string> Inputs, string Output, TensorShape OutputSample);

/// <summary>
/// A layer with the values of its parameters and state, by the names the layer gives them ("weight", "bias",
/// "gamma", "beta", "running_mean", "running_var"), to upload once the layer is built.
/// </summary>
internal sealed record LayerOp(string Name, string Input, string Output, TensorShape OutputSample, Layer Layer,
    IReadOnlyDictionary<string, float[]> Weights) : ImportedOp(Name, [Input], Output, OutputSample)
{
    /// <summary>
    /// Uploads <see cref="Weights"/> into the built layer's parameters and state of the same names (a synchronous
    /// upload). Every parameter and state tensor of the layer must be given, with its exact element count.
    /// </summary>
    public void LoadWeights(string source)
    {
        if (!Layer.IsBuilt) throw new InvalidOperationException($"Layer '{Layer.Name}' must be built before its weights are loaded.");
        var targets = Layer.Parameters.Select(p => (p.Name, p.Value)).Concat(Layer.State.Select(s => (s.Name, s.Value))).ToList();
        foreach (var (name, tensor) in targets)
        {
            if (!Weights.TryGetValue(name, out var values))
                throw new OnnxFormatException(source, $"node '{Name}': no value for the {Layer.TypeName} layer's {name} {tensor.Shape}.");
            if (values.Length != tensor.ElementCount)
                throw new OnnxFormatException(source, $"node '{Name}': the {name} has {values.Length} values, the {Layer.TypeName} layer's {name} is {tensor.Shape} ({tensor.ElementCount}).");
            tensor.Upload(values);
        }
        var unused = Weights.Keys.Except(targets.Select(t => t.Name)).ToList();
        if (unused.Count > 0) throw new InvalidOperationException($"node '{Name}': values for {string.Join(", ", unused)}, which the {Layer.TypeName} layer does not have.");
    }
}

/// <summary>The element-wise sum of values of equal shapes (ONNX Add without broadcasting).</summary>
internal sealed record AddOp(string Name, IReadOnlyList<string> Inputs, string Output, TensorShape OutputSample)
    : ImportedOp(Name, Inputs, Output, OutputSample);

/// <summary>Concatenation along the channel (or feature) axis, the sample's axis 0.</summary>
internal sealed record ConcatOp(string Name, IReadOnlyList<string> Inputs, string Output, TensorShape OutputSample)
    : ImportedOp(Name, Inputs, Output, OutputSample);
