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
    /// Write the batch dimension as the symbol "N", so a runtime accepts any batch size. <see cref="OnnxModel.Load(string, IBackend, OnnxImportOptions?)"/>
    /// reads such a file only with <see cref="OnnxImportOptions.AllowDynamicBatch"/>.
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
