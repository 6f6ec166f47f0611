namespace ConvNet.Gpu.Onnx;

/// <summary>
/// The standard ("ai.onnx") operator-set versions ConvNet.Gpu writes and reads, and the IR version that goes with each.
/// Every op the exporter emits and the importer accepts has the same inputs, attributes and semantics across
/// opsets 13 to 21 (13 is where Softmax became a per-axis op and Pad, Dropout and Resize took their current inputs).
/// </summary>
public static class OnnxOpsets
{
    /// <summary>The oldest supported opset, 13.</summary>
    public const int Minimum = 13;

    /// <summary>The newest supported opset, 21.</summary>
    public const int Maximum = 21;

    /// <summary>The opset written by default, 17 (what PyTorch 1.13 and later export by default at most).</summary>
    public const int Default = 17;

    /// <summary>Whether <paramref name="opset"/> is in [<see cref="Minimum"/>, <see cref="Maximum"/>].</summary>
    public static bool IsSupported(long opset) => opset >= Minimum && opset <= Maximum;

    /// <summary>
    /// The IR version of the ONNX release that introduced <paramref name="opset"/> (opset 13-14: IR 7, 15-18: IR 8,
    /// 19-20: IR 9, 21: IR 10), the lowest IR a runtime must read to load a model of that opset.
    /// </summary>
    public static int IrVersionFor(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };
}
