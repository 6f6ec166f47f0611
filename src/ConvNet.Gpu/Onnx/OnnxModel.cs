using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Import;

namespace ConvNet.Gpu.Onnx;

/// <summary>
/// Imports ONNX models (exported by PyTorch, by <see cref="OnnxExport"/> or others) as trainable graph models whose
/// weights are the file's; docs/onnx.md lists the ops and the conditions under which each is accepted.
/// </summary>
/// <example>
/// <code>
/// using var model = OnnxModel.Load("resnet.onnx", backend);      // a graph Model: train, evaluate, save, export
/// using var trainer = new Trainer(model, new Adam(1e-4f));
/// trainer.Fit(train, epochs: 3);
/// </code>
/// </example>
public static class OnnxModel
{
    /// <summary>
    /// Reads the ONNX file at <paramref name="path"/> and builds it on <paramref name="backend"/> as a graph
    /// <see cref="Model"/>: one layer per translated node (named after the node), Add and Concat merges, the file's
    /// inputs and outputs. The whole file is checked and translated before any layer is built or any memory is
    /// allocated. The weights are uploaded synchronously; the caller owns (and disposes) the model.
    /// </summary>
    /// <exception cref="OnnxFormatException">The file is truncated, not ONNX, or inconsistent.</exception>
    /// <exception cref="OnnxUnsupportedException">The file uses an opset, op, attribute, shape or data type the importer cannot reproduce exactly (the exception names the node, op and attribute).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static Model Load(string path, IBackend backend, OnnxImportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(backend);
        return Build(OnnxImporter.Read(File.ReadAllBytes(path), path, options), backend);
    }

    /// <summary>Like <see cref="Load(string, IBackend, OnnxImportOptions?)"/>, from the bytes of a model; errors name it "&lt;bytes&gt;".</summary>
    public static Model Load(byte[] onnx, IBackend backend, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        ArgumentNullException.ThrowIfNull(backend);
        return Build(OnnxImporter.Read(onnx, "<bytes>", options), backend);
    }

    /// <summary>
    /// The key-value pairs of the file's metadata_props (e.g. the "convnet.normalization_mean" and
    /// "convnet.normalization_std" that <c>convnet export</c> writes), read without translating the graph.
    /// </summary>
    /// <exception cref="OnnxFormatException">The file is empty, truncated or not ONNX.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return OnnxImporter.Metadata(File.ReadAllBytes(path), path);
    }

    private static Model Build(ImportedGraph graph, IBackend backend)
    {
        var tensors = new Dictionary<string, SymbolicTensor>(StringComparer.Ordinal);
        var inputs = graph.Inputs.Select(i => tensors[i.Value] = Model.Input(i.Sample, i.Name)).ToList();
        foreach (var op in graph.Ops)
        {
            var operands = op.Inputs.Select(i => tensors[i]).ToArray();
            tensors[op.Output] = op switch
            {
                LayerOp l => l.Layer.Call(operands.Single()),
                AddOp => new Nn.Add(op.Output).Call(operands),
                ConcatOp => new Concat(op.Output).Call(operands),
                _ => throw new InvalidOperationException($"Unknown imported operation {op.GetType().Name}."),
            };
        }
        var model = new Model(backend, inputs, graph.Outputs.Select(o => tensors[o]).ToList(), name: graph.Name);
        try
        {
            foreach (var l in graph.Ops.OfType<LayerOp>()) l.LoadWeights(graph.Source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }
}
