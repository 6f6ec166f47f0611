using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Export;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;

namespace ConvNet.Gpu.Onnx;

/// <summary>What <see cref="OnnxExport.ExportOnnx"/> writes besides the model itself.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The standard opset to target, in [<see cref="OnnxOpsets.Minimum"/>, <see cref="OnnxOpsets.Maximum"/>]; default 17.</summary>
    public int Opset { get; init; } = OnnxOpsets.Default;

    /// <summary>
    /// The batch size written into the input and output shapes when <see cref="DynamicBatch"/> is false (default 1,
    /// as PyTorch writes the example input's batch). A runtime then accepts exactly this batch size.
    /// </summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>
    /// Write the batch dimension as the symbol "N", so a runtime accepts any batch size. <c>OnnxModel.Load</c>
    /// reads such a file only with <c>OnnxImportOptions.AllowDynamicBatch</c>.
    /// </summary>
    public bool DynamicBatch { get; init; }

    /// <summary>The graph input's name (default "input").</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The graph output's name (default "output"): the model's last layer output (logits for the ready-made models).</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>
    /// Key-value pairs written into the model's metadata_props (e.g. the input normalization the model was trained
    /// with; ONNX Runtime returns them as ModelMetadata.CustomMetadataMap). Null or empty writes none.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Exports models to ONNX (see docs/onnx.md for the op used for every layer). The file holds the inference graph
/// (batch norm with its running statistics, dropout as an identity) and the current weights, and gives the model's
/// <c>Forward(x, training: false)</c> output in any ONNX runtime.
/// </summary>
public static class OnnxExport
{
    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> as an ONNX model (atomically: a temporary file in the
    /// same directory, then a rename). Weights are read from the model's backend (a synchronizing download).
    /// </summary>
    /// <exception cref="OnnxExportException">A layer has no ONNX equivalent, or an option is out of range; nothing is written.</exception>
    public static void ExportOnnx(this Sequential model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToOnnxBytes(model, options);
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The serialized ONNX model of <paramref name="model"/> (see <see cref="ExportOnnx"/>).</summary>
    public static byte[] ToOnnxBytes(this Sequential model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var o = Validate(options ?? new OnnxExportOptions());
        if (model.Layers.Count == 0) throw new OnnxExportException(null, null, $"model '{model.Name}' has no layers.");
        var w = new OnnxGraphWriter(o.DynamicBatch ? new OnnxGraphWriter.Dim(0, "N") : new OnnxGraphWriter.Dim(o.BatchSize, null));
        // Reserved first, so that a layer named like the graph's input or output gets a suffixed value name instead.
        w.Unique(o.InputName);
        w.Unique(o.OutputName);
        string value = o.InputName;
        foreach (var layer in model.Layers) value = LayerExport.Export(layer, layer.Name, value, w);
        FinishGraph(w, model.Name, o, model.InputShape, value, model.OutputShape);
        return Model(w.Graph, o).ToByteArray();
    }

    private static OnnxExportOptions Validate(OnnxExportOptions o)
    {
        if (!OnnxOpsets.IsSupported(o.Opset))
            throw new OnnxExportException(null, null, $"opset {o.Opset} is not supported; choose {OnnxOpsets.Minimum} to {OnnxOpsets.Maximum}.");
        if (!o.DynamicBatch && o.BatchSize < 1)
            throw new OnnxExportException(null, null, $"the batch size must be at least 1, got {o.BatchSize} (or set DynamicBatch).");
        if (string.IsNullOrEmpty(o.InputName) || string.IsNullOrEmpty(o.OutputName) || o.InputName == o.OutputName)
            throw new OnnxExportException(null, null, $"the input and output names must be non-empty and different, got '{o.InputName}' and '{o.OutputName}'.");
        return o;
    }

    // Declares the graph's input and output (both names were reserved before any layer was written); the last value
    // is renamed to the output name, through an Identity when the model's output is its input.
    internal static void FinishGraph(OnnxGraphWriter w, string name, OnnxExportOptions o, TensorShape inputShape, string last, TensorShape outputShape)
    {
        w.Graph.Name = name;
        w.Graph.Input.Add(w.Typed(o.InputName, inputShape));
        if (last == o.InputName) last = w.Node("Identity", "output_identity", [last]);
        w.RenameValue(last, o.OutputName);
        var info = w.Graph.ValueInfo.Where(v => v.Name == o.OutputName).ToList();
        foreach (var v in info) w.Graph.ValueInfo.Remove(v);
        w.Graph.Output.Add(w.Typed(o.OutputName, outputShape));
    }

    internal static ModelProto Model(GraphProto graph, OnnxExportOptions o)
    {
        var model = new ModelProto
        {
            IrVersion = OnnxOpsets.IrVersionFor(o.Opset),
            ProducerName = "ConvNet.Gpu",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = o.Opset });
        foreach (var (key, value) in o.Metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }
}
