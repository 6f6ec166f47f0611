namespace ConvNet.Gpu.Onnx;

/// <summary>How <see cref="OnnxModel"/> treats what a file leaves open.</summary>
public sealed record OnnxImportOptions
{
    /// <summary>
    /// Accept a graph input whose batch dimension (dimension 0) is symbolic or unknown, as written with PyTorch's
    /// dynamic_axes or <see cref="OnnxExportOptions.DynamicBatch"/>. Off by default: the importer needs static shapes
    /// and says so with an <see cref="OnnxUnsupportedException"/>. Our models take any batch size whatever the file
    /// says, so turning this on is safe unless the graph computes something from the batch size other than the usual
    /// flatten (<c>x.view(x.size(0), -1)</c>), which then fails with a typed error.
    /// </summary>
    public bool AllowDynamicBatch { get; init; }
}
