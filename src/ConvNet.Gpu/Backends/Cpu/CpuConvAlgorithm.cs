namespace ConvNet.Gpu.Backends.Cpu;

/// <summary>The pass of a convolution an algorithm is chosen for.</summary>
public enum CpuConvPass
{
    /// <summary>Y = conv(X, W) (+ bias).</summary>
    Forward,

    /// <summary>dX from dY and W.</summary>
    BackwardData,

    /// <summary>dW from X and dY.</summary>
    BackwardWeights,
}

/// <summary>The ways the CPU backend can compute a convolution pass.</summary>
public enum CpuConvAlgorithm
{
    /// <summary>im2col in L2-sized blocks of output rows, then the packed SGEMM (any geometry).</summary>
    Im2ColGemm,

    /// <summary>1x1, stride 1, unpadded: the input plane is its own column matrix, one SGEMM per sample and group.</summary>
    PointwiseGemm,

    /// <summary>groups = C: direct per-plane loops, no GEMM.</summary>
    Depthwise,

    /// <summary>Few channels (LeNet C1/C3): direct loops with the (at most 16) output channels of the pass in the vector lanes.</summary>
    DirectSmallChannel,

    /// <summary>Winograd F(2x2, 3x3) (3x3, stride 1, one group; dilation through phase splitting): 2.25x fewer multiplies.</summary>
    WinogradF2x3,

    /// <summary>
    /// Implicit GEMM (forward and weight gradient; one group, horizontal stride 1 or 2): the input is broadcast straight
    /// from padded bands of rows against filters packed once per call, 14 pixels (or taps) x 32 channels per register
    /// tile; no im2col buffer.
    /// </summary>
    ImplicitGemm,
}

/// <summary>What the CPU backend runs for one convolution pass of one geometry, and why.</summary>
/// <param name="Pass">The pass.</param>
/// <param name="Algorithm">The algorithm that runs.</param>
/// <param name="Reason">Why it was chosen (and why faster ones were not), in words.</param>
public sealed record CpuConvChoice(CpuConvPass Pass, CpuConvAlgorithm Algorithm, string Reason)
{
    /// <summary>"forward: WinogradF2x3 (…reason…)".</summary>
    public override string ToString() => $"{Pass}: {Algorithm} ({Reason})";
}
