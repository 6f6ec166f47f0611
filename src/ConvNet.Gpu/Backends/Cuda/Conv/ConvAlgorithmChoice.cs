namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// Which algorithm <see cref="CudaBackend"/> uses for one convolution pass on one geometry, and why.
/// </summary>
/// <param name="Pass">The pass.</param>
/// <param name="Geometry">The geometry (batch included).</param>
/// <param name="Algorithm">The algorithm that runs.</param>
/// <param name="Reason">Why, in words: forced, autotuned (with the winner's margin), the fixed cost order, a cached
/// result, or a forced algorithm that could not run here and the fallback that replaced it.</param>
/// <param name="TimingsMilliseconds">Median device time per candidate when autotuned (empty otherwise); candidates that
/// were not eligible are absent.</param>
/// <param name="Rejected">The candidates that could not run this geometry here, each with its reason.</param>
public sealed record ConvAlgorithmChoice(
    ConvPass Pass,
    Conv2dGeometry Geometry,
    ConvAlgorithm Algorithm,
    string Reason,
    IReadOnlyDictionary<ConvAlgorithm, double> TimingsMilliseconds,
    IReadOnlyDictionary<ConvAlgorithm, string> Rejected)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Pass} {Geometry}: {Algorithm} ({Reason})";
}
