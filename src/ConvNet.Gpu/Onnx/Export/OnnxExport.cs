using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Export;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;

namespace ConvNet.Gpu.Onnx;

/// <summary>
/// Exports models (a <see cref="Sequential"/> or any graph <see cref="Model"/>) to ONNX; docs/onnx.md lists the op
/// written for every layer. The file holds the inference graph (batch norm with its running statistics, dropout as
/// an identity) and the current weights, and gives the model's <c>Forward(x, training: false)</c> output in any ONNX
/// runtime.
/// </summary>
public static class OnnxExport
{
    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> as an ONNX model (atomically: a temporary file in the
    /// same directory, then a rename). Weights are read from the model's backend (a synchronizing download).
    /// </summary>
    /// <exception cref="OnnxExportException">A layer has no ONNX equivalent, or an option is out of range; nothing is written.</exception>
    public static void ExportOnnx(this Model model, string path, OnnxExportOptions? options = null)
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
    /// <exception cref="OnnxExportException">A layer has no ONNX equivalent, or an option is out of range.</exception>
    public static byte[] ToOnnxBytes(this Model model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var o = Validate(options ?? new OnnxExportOptions());
        var graph = ModelExport.Write(model, o);
        var proto = new ModelProto
        {
            IrVersion = OnnxOpsets.IrVersionFor(o.Opset),
            ProducerName = "ConvNet.Gpu",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "",
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = o.Opset });
        foreach (var (key, value) in o.Metadata ?? new Dictionary<string, string>())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto.ToByteArray();
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
}
