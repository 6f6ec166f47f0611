namespace ConvNet.Gpu.Cli.Reporting;

/// <summary>A test image the model got wrong, with its pixels for the report.</summary>
/// <param name="Pixels">Height*Width pixels in [0, 1] (not normalized), row-major.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="TrueLabel">The correct class.</param>
/// <param name="PredictedLabel">The class the model chose.</param>
/// <param name="Confidence">The softmax probability of the predicted class.</param>
/// <param name="Index">Index of the image in the test set.</param>
internal sealed record MisclassifiedExample(float[] Pixels, int Height, int Width, int TrueLabel, int PredictedLabel, float Confidence, int Index);

/// <summary>The learned kernels of one convolution layer: weights (K, C, KH, KW) row-major.</summary>
/// <param name="LayerName">Display name of the layer, e.g. "conv1 (Conv2D 1→6, 5×5)".</param>
/// <param name="Weights">K*C*KH*KW values.</param>
/// <param name="OutChannels">K, the number of filters.</param>
/// <param name="InChannels">C per group.</param>
/// <param name="KernelH">Kernel height.</param>
/// <param name="KernelW">Kernel width.</param>
/// <param name="Responses">The filters applied to one test image, or null when the layer does not see the input directly.</param>
internal sealed record FilterBank(string LayerName, float[] Weights, int OutChannels, int InChannels, int KernelH, int KernelW,
    FilterResponses? Responses = null);

/// <summary>The first convolution's output maps (K, OH, OW) for one test image, before the activation.</summary>
/// <param name="Image">The test image's raw pixels (H*W, in [0, 1]).</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Label">The image's class name.</param>
/// <param name="Maps">K*OH*OW responses, row-major.</param>
/// <param name="MapHeight">OH.</param>
/// <param name="MapWidth">OW.</param>
internal sealed record FilterResponses(float[] Image, int Height, int Width, string Label, float[] Maps, int MapHeight, int MapWidth);

/// <summary>Everything report.html shows.</summary>
internal sealed class ReportData
{
    /// <summary>The run's metrics (header and curves).</summary>
    public required RunMetrics Metrics { get; init; }

    /// <summary>Class names indexed by label.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Confusion counts [true, predicted] on the test set with the final weights.</summary>
    public required long[,] Confusion { get; init; }

    /// <summary>Some misclassified test images (most confident mistakes first).</summary>
    public required IReadOnlyList<MisclassifiedExample> Misclassified { get; init; }

    /// <summary>The first convolution layer's filters, or null when the model has none.</summary>
    public FilterBank? FirstConvFilters { get; init; }

    /// <summary>The model summary table as text (shown in a collapsible block).</summary>
    public string? ModelSummary { get; init; }

    /// <summary>Final test loss and accuracy (with the final weights).</summary>
    public required (double Loss, double Accuracy) FinalTest { get; init; }
}
