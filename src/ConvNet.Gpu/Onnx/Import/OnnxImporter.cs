using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>
/// Reads an ONNX file into an <see cref="ImportedGraph"/>: parses and checks the model (IR version, standard opset
/// 13-21, graph, static float32 inputs), folds constant shape computations, and translates each live node into our
/// layers and graph operations, checking every attribute. Nothing is built or allocated; every failure is an
/// <see cref="OnnxFormatException"/> or <see cref="OnnxUnsupportedException"/> naming the node, op and attribute.
/// The per-op translations are in OnnxImporter.Ops.cs.
/// </summary>
internal sealed partial class OnnxImporter
{
    // A dynamic batch dimension is carried through shape computations as this stand-in size, so that PyTorch's
    // flatten pattern (Shape -> Gather(0) -> Unsqueeze -> Concat -> Reshape) folds to (batch, -1) and is recognised;
    // it is large and prime so that any other arithmetic on it yields a shape that fails a check instead of passing.
    internal const long DynamicBatch = 1_000_000_007;

    private readonly string _source;
    private readonly OnnxImportOptions _options;
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphOutputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<OnnxNode> _fused = [];
    private readonly Dictionary<string, Layer> _sharedLayers = new(StringComparer.Ordinal); // see AddLayer
    private readonly ImportedGraph _graph;
    private long _batch;

    private OnnxImporter(string source, OnnxImportOptions options, ImportedGraph graph)
    {
        _source = source;
        _options = options;
        _graph = graph;
    }

    /// <summary>What an ONNX value is while importing.</summary>
    private abstract record Value;

    /// <summary>A constant known on the host.</summary>
    private sealed record Const(HostTensor Tensor) : Value;

    /// <summary>
    /// A tensor computed by the model, carried by our value <paramref name="Id"/>, with its ONNX dims (batch first).
    /// <paramref name="Flat"/>: our tensor is already (N, C) although ONNX's is (N, C, 1, 1) (a fused global pooling).
    /// </summary>
    private sealed record Act(string Id, long[] Dims, bool Flat = false) : Value
    {
        public int Rank => Dims.Length;

        public TensorShape Sample => Flat ? Shapes.Features((int)Dims[1])
            : Rank == 4 ? Shapes.Image((int)Dims[1], (int)Dims[2], (int)Dims[3]) : Shapes.Features((int)Dims[1]);
    }

    /// <summary>The output of a Pad node: <paramref name="Source"/> with zeros added (top, left, bottom, right), to be fused into its consumer.</summary>
    private sealed record Padded(Act Source, long[] Pads, string PadNode) : Value;

    /// <summary>Reads and translates a serialized model; <paramref name="source"/> names it in errors.</summary>
    public static ImportedGraph Read(byte[] bytes, string source, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var model = Parse(bytes, source);
        int opset = CheckModel(model, source);
        var graph = new ImportedGraph
        {
            Name = string.IsNullOrEmpty(model.Graph.Name) ? "onnx_model" : model.Graph.Name,
            Source = source,
            Opset = opset,
            Producer = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
        };
        new OnnxImporter(source, options ?? new OnnxImportOptions(), graph).Translate(model.Graph);
        return graph;
    }

    /// <summary>The model's metadata_props (a repeated key keeps its last value), after checking the file parses.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(byte[] bytes, string source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Parse(bytes, source).MetadataProps) metadata[entry.Key] = entry.Value;
        return metadata;
    }

    private static ModelProto Parse(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new OnnxFormatException(source, "the file is empty.");
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(source,
                $"not a readable ONNX model ({bytes.Length:N0} bytes): the protobuf data is malformed or cut short ({e.Message}). A truncated download or copy is the usual cause.", e);
        }
    }

    private static int CheckModel(ModelProto model, string source)
    {
        if (!model.HasIrVersion)
            throw new OnnxFormatException(source, "no ir_version: this is not an ONNX model, or the file was cut before the model's first field.");
        if (model.IrVersion < 3)
            throw new OnnxUnsupportedException(source, null, null, null, $"IR version {model.IrVersion} predates operator sets; re-export with a current exporter.");
        if (model.Graph is null)
            throw new OnnxFormatException(source, $"the model (IR version {model.IrVersion}) has no graph; the file may be truncated.");
        if (model.Functions.Count > 0)
            throw new OnnxUnsupportedException(source, null, null, null, $"the model defines {model.Functions.Count} local function(s), which the importer does not inline.");
        if (model.Graph.SparseInitializer.Count > 0)
            throw new OnnxUnsupportedException(source, null, null, null, "the graph has sparse initializers; store the weights dense.");
        var standard = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (standard.Count == 0)
            throw new OnnxFormatException(source,
                $"the model imports no version of the standard operator set (imports: {string.Join(", ", model.OpsetImport.Select(o => $"'{o.Domain}' {o.Version}"))}); the file may be truncated.");
        long opset = standard.Max(o => o.Version);
        if (!OnnxOpsets.IsSupported(opset))
            throw new OnnxUnsupportedException(source, null, null, null,
                $"the model uses opset {opset} of the standard operator set; the importer reads opsets {OnnxOpsets.Minimum} to {OnnxOpsets.Maximum} " +
                $"(re-export with, e.g., torch.onnx.export(..., opset_version={OnnxOpsets.Default}) or convert with onnx.version_converter).");
        return (int)opset;
    }

    private void Translate(GraphProto g)
    {
        foreach (var t in g.Initializer)
        {
            if (string.IsNullOrEmpty(t.Name)) throw new OnnxFormatException(_source, "an initializer has no name.");
            if (!_values.TryAdd(t.Name, new Const(HostTensor.FromProto(t, _source))))
                throw new OnnxFormatException(_source, $"two initializers are named '{t.Name}'.");
        }
        ReadInputs(g);
        if (g.Output.Count == 0) throw new OnnxFormatException(_source, "the graph has no outputs.");
        foreach (var o in g.Output) _graphOutputs.Add(o.Name);

        var nodes = g.Node.Select(n => new OnnxNode(n, _source)).ToList();
        CheckReferences(g, nodes);
        foreach (var node in nodes)
            foreach (string input in node.Proto.Input.Where(i => i.Length > 0))
                (_consumers.TryGetValue(input, out var list) ? list : _consumers[input] = []).Add(node);

        foreach (var node in Live(nodes))
        {
            if (_fused.Contains(node)) continue;
            try
            {
                Lower(node);
            }
            catch (ConvNetArgumentException e)
            {
                // A layer or specification rejected the values (e.g. pooling padding over half the kernel).
                throw node.Unsupported(null, $"our layer cannot take these settings: {e.Message}");
            }
        }
        ReadOutputs(g);
    }

    private void ReadInputs(GraphProto g)
    {
        bool first = true;
        foreach (var input in g.Input)
        {
            if (_values.ContainsKey(input.Name)) continue; // IR < 4 lists initializers among the inputs
            var tensor = input.Type?.TensorType
                ?? throw new OnnxUnsupportedException(_source, null, null, null, $"graph input '{input.Name}' is not a tensor (sequence, map or optional types are not supported).");
            if (tensor.ElemType != (int)TensorProto.Types.DataType.Float)
                throw new OnnxUnsupportedException(_source, null, null, null,
                    $"graph input '{input.Name}' has element type {OnnxTensors.TypeName(tensor.ElemType)}; the importer takes FLOAT (float32) inputs.");
            if (tensor.Shape is null)
                throw new OnnxUnsupportedException(_source, null, null, null, $"graph input '{input.Name}' has no shape; the importer needs static shapes (N, C, H, W) or (N, F).");
            var dims = tensor.Shape.Dim;
            if (dims.Count is not (2 or 4))
                throw new OnnxUnsupportedException(_source, null, null, null, $"graph input '{input.Name}' has rank {dims.Count}; the importer takes (N, C, H, W) images or (N, F) features.");
            var values = new long[dims.Count];
            for (int i = 0; i < dims.Count; i++)
            {
                var d = dims[i];
                if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0)
                {
                    values[i] = d.DimValue;
                    continue;
                }
                string what = d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? $"dynamic ('{d.DimParam}')" : $"unknown ({(d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : "no value")})";
                if (i > 0)
                    throw new OnnxUnsupportedException(_source, null, null, null,
                        $"graph input '{input.Name}' dimension {i} is {what}; the importer needs static sample shapes (re-export with a fixed-size example input and no dynamic_axes on it).");
                if (!_options.AllowDynamicBatch)
                    throw new OnnxUnsupportedException(_source, null, null, null,
                        $"graph input '{input.Name}' has a {what} batch dimension; the importer needs static shapes. Re-export without dynamic_axes, or pass new OnnxImportOptions {{ AllowDynamicBatch = true }} to accept any batch size.");
                values[i] = DynamicBatch;
            }
            if (!first && values[0] != _batch)
                throw new OnnxUnsupportedException(_source, null, null, null, $"graph input '{input.Name}' has batch {Batch(values[0])} but an earlier input has {Batch(_batch)}.");
            _batch = values[0];
            first = false;
            var act = new Act(input.Name, values);
            _values[input.Name] = act;
            _graph.Inputs.Add(new ImportedInput(input.Name, Unique(input.Name), act.Sample));
        }
        if (first) throw new OnnxUnsupportedException(_source, null, null, null, "the graph has no (non-constant) input.");
    }

    private static string Batch(long n) => n == DynamicBatch ? "dynamic" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // Every node input must be a graph input, an initializer or an earlier node's output: this also checks that the
    // nodes are in topological order, as the spec requires.
    private void CheckReferences(GraphProto g, List<OnnxNode> nodes)
    {
        var known = new HashSet<string>(_values.Keys, StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (node.Proto.Domain is not ("" or "ai.onnx"))
                throw node.Unsupported(null, $"the op is from domain '{node.Proto.Domain}'; the importer reads standard (ai.onnx) ops only.");
            foreach (string input in node.Proto.Input)
                if (input.Length > 0 && !known.Contains(input))
                    throw node.Malformed($"reads '{input}', which no graph input, initializer or earlier node produces.");
            foreach (string output in node.Proto.Output)
                if (output.Length > 0 && !known.Add(output))
                    throw node.Malformed($"writes '{output}', which is already defined (a graph must be in SSA form).");
        }
        foreach (var o in g.Output)
            if (!known.Contains(o.Name)) throw new OnnxFormatException(_source, $"graph output '{o.Name}' is not produced by any node.");
    }

    // The nodes the outputs depend on, in file order; dead nodes are dropped so they never need to be supported.
    private IEnumerable<OnnxNode> Live(List<OnnxNode> nodes)
    {
        var needed = new HashSet<string>(_graphOutputs, StringComparer.Ordinal);
        var live = new bool[nodes.Count];
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            if (!nodes[i].Proto.Output.Any(needed.Contains)) continue;
            live[i] = true;
            foreach (string input in nodes[i].Proto.Input) if (input.Length > 0) needed.Add(input);
        }
        return nodes.Where((_, i) => live[i]);
    }

    private void ReadOutputs(GraphProto g)
    {
        foreach (var o in g.Output)
        {
            var value = _values[o.Name];
            if (value is not Act act || act.Flat)
                throw new OnnxUnsupportedException(_source, null, null, null,
                    $"graph output '{o.Name}' is {(value is Const ? "a constant" : "not a computed tensor our layers produce")}; the importer needs every output computed from the input.");
            if (o.Type?.TensorType?.Shape is { } declared && declared.Dim.Count > 0)
            {
                bool agrees = declared.Dim.Count == act.Rank && declared.Dim.Select((d, i) => i == 0 || !d.HasDimValue || d.DimValue == act.Dims[i]).All(b => b);
                if (!agrees)
                    throw new OnnxUnsupportedException(_source, null, null, null,
                        $"graph output '{o.Name}' is declared ({string.Join(", ", declared.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.DimParam))}) " +
                        $"but the imported layers compute (N, {string.Join(", ", act.Dims.Skip(1))}); some op's semantics differ from ours.");
            }
            _graph.Outputs.Add(act.Id);
            _graph.OutputNames.Add(o.Name);
        }
    }

    private Value Resolve(OnnxNode node, int index)
    {
        string name = node.Input(index);
        return name.Length == 0 ? throw node.Malformed($"input {index} is required.") : _values[name];
    }

    private Value? ResolveOptional(OnnxNode node, int index)
    {
        string name = node.Input(index);
        return name.Length == 0 ? null : _values[name];
    }

    /// <summary>Input <paramref name="index"/> as a computed tensor of rank <paramref name="rank"/> (0: 2 or 4).</summary>
    private Act Activation(OnnxNode node, int index, int rank = 0)
    {
        var v = Resolve(node, index);
        if (v is Padded p) throw node.Unsupported(null, $"reads the output of Pad node '{p.PadNode}'; a Pad is supported only directly before a Conv or an AveragePool.");
        if (v is not Act a) throw node.Unsupported(null, $"input {index} ('{node.Input(index)}') is a constant where the importer needs the computed tensor.");
        if (a.Flat && node.Op is not ("Flatten" or "Reshape"))
            throw node.Unsupported(null, "reads a global average pooling that was fused with its flatten; this should not happen.");
        if (rank != 0 && a.Rank != rank)
            throw node.Unsupported(null, $"input '{node.Input(index)}' has shape {Dims(a.Dims)}; the importer supports {node.Op} on rank-{rank} tensors only.");
        return a;
    }

    /// <summary>Input <paramref name="index"/> as a constant (initializer, Constant node or folded value).</summary>
    private HostTensor Constant(OnnxNode node, int index, string what)
    {
        var v = Resolve(node, index);
        return v is Const c ? c.Tensor
            : throw node.Unsupported(what, $"the {what} ('{node.Input(index)}') is computed at run time; the importer needs it constant (an initializer or a Constant node).");
    }

    private HostTensor? OptionalConstant(OnnxNode node, int index, string what) =>
        node.Input(index).Length == 0 ? null : Constant(node, index, what);

    /// <summary>Float values of a constant, checked to be float and of <paramref name="count"/> elements when given.</summary>
    private static float[] Floats(OnnxNode node, HostTensor t, string what, long? count = null)
    {
        if (!t.IsFloat) throw node.Unsupported(what, $"the {what} is an integer tensor; float32 is needed.");
        if (count is long n && t.Count != n) throw node.Malformed($"the {what} has {t.Count} values ({t.Shape}), {n} are needed.");
        return t.Floats!;
    }

    private static string Dims(long[] dims) => "(" + string.Join(", ", dims.Select((d, i) => i == 0 && d == DynamicBatch ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";

    /// <summary>
    /// A unique layer and value name for a node: its name with the path separators of exporters ('/', ':') turned into
    /// '.', so that "/block1/conv1/Conv" becomes "block1.conv1.Conv" (our model paths use '/' and ':' themselves).
    /// </summary>
    private string Unique(string name)
    {
        name = name.Replace('/', '.').Replace(':', '.').Trim('.');
        if (name.Length == 0) name = "node";
        string candidate = name;
        for (int i = 2; !_names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    /// <summary>Binds node output 0 to <paramref name="value"/>; other outputs must be unused.</summary>
    private void Bind(OnnxNode node, Value value)
    {
        _values[node.Proto.Output[0]] = value;
        for (int i = 1; i < node.Proto.Output.Count; i++)
        {
            string extra = node.Proto.Output[i];
            if (extra.Length > 0 && (_consumers.ContainsKey(extra) || _graphOutputs.Contains(extra)))
                throw node.Unsupported(null, $"output {i} ('{extra}') is used; the importer supports only the first output of {node.Op}.");
        }
    }

    /// <summary>
    /// Adds <paramref name="layer"/> reading <paramref name="input"/> and binds the node's output to its result. A layer
    /// with weights whose node reads the same weight values (<paramref name="weightSources"/>, by default the node's
    /// inputs after the first) with the same attributes, hyper-parameters and input shape as an earlier node is not
    /// added again: the node becomes a second call of the earlier layer, so the weights stay shared when fine-tuning
    /// (how our export writes a layer called twice, and how PyTorch writes a module used twice).
    /// </summary>
    private Act AddLayer(OnnxNode node, Act input, Layer layer, Dictionary<string, float[]> weights, bool flatOutput = false, IEnumerable<string>? weightSources = null)
    {
        string id = Unique(node.Name);
        bool reused = false;
        if (weights.Count > 0)
        {
            var config = layer.GetConfig();
            config.Remove("name");
            string key = string.Join("\n", [node.Op, input.Sample.ToString(), config.ToJsonString(),
                .. node.Proto.Attribute.Select(a => a.ToByteString().ToBase64()), "--", .. weightSources ?? Enumerable.Range(1, node.InputCount - 1).Select(node.Input)]);
            if (_sharedLayers.TryGetValue(key, out var first)) (layer, reused) = (first, true);
            else _sharedLayers[key] = layer;
        }
        if (!reused) layer.Name = id;
        var sample = layer.ComputeOutputShape(input.Sample);
        long[] dims = [_batch, .. sample.Dimensions.Select(d => (long)d)];
        var act = flatOutput ? new Act(id, [_batch, dims[1], 1, 1], Flat: true) : new Act(id, dims);
        _graph.Ops.Add(new LayerOp(node.Name, input.Id, id, sample, layer, weights));
        Bind(node, act);
        return act;
    }
}
