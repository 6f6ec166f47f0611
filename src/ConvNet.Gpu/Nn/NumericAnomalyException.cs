namespace ConvNet.Gpu.Nn;

/// <summary>
/// Raised in anomaly-detection mode when a layer's output (forward) or gradient (backward) holds NaN or infinity.
/// The message names the first such layer, the phase and the first bad element.
/// </summary>
public sealed class NumericAnomalyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NumericAnomalyException(string layerName, string phase, string message) : base(message)
    {
        LayerName = layerName;
        Phase = phase;
    }

    /// <summary>Name of the first layer that produced a non-finite value.</summary>
    public string LayerName { get; }

    /// <summary>"forward" or "backward".</summary>
    public string Phase { get; }
}
