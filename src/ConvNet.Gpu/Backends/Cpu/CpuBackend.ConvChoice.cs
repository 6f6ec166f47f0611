using ConvNet.Gpu.Backends.Cpu.Conv;

namespace ConvNet.Gpu.Backends.Cpu;

// The per-shape algorithm choice of the CPU convolutions. It is a pure function of the geometry, the pass and the CPU's
// instruction set (never of timings), so the same model picks the same algorithms, and gets the same bits, every run.
public sealed partial class CpuBackend
{
    /// <summary>Minimum input and output channels for Winograd: below it the transforms cost more than the multiplies saved.</summary>
    internal const int WinogradMinChannels = 16;

    /// <summary>Tests force one algorithm for every pass it supports (null: the normal choice).</summary>
    internal CpuConvAlgorithm? ForcedConvAlgorithm { get; set; }

    /// <summary>
    /// The algorithm this backend runs for <paramref name="pass"/> of <paramref name="geometry"/> and why. Every
    /// convolution call goes through this choice, so what it returns is what runs (profile-step prints it per layer).
    /// </summary>
    public CpuConvChoice ChooseConvAlgorithm(Conv2dGeometry geometry, CpuConvPass pass)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        var g = geometry;
        if (DepthwiseConv.Applies(g))
            return new(pass, CpuConvAlgorithm.Depthwise, $"groups = C = {g.C}: direct per-plane loops");
        if (IsPointwise(g))
            return new(pass, CpuConvAlgorithm.PointwiseGemm, "1x1, stride 1, unpadded: the input is its own column matrix");
        bool small = pass switch
        {
            CpuConvPass.Forward => SmallChannelConv.AppliesForward(g),
            CpuConvPass.BackwardData => SmallChannelConv.AppliesBackwardData(g),
            _ => SmallChannelConv.AppliesBackwardWeights(g),
        };
        if (small && ForcedConvAlgorithm is null or CpuConvAlgorithm.DirectSmallChannel)
            return new(pass, CpuConvAlgorithm.DirectSmallChannel, SmallChannelConv.PixelLanes(g) && pass != CpuConvPass.BackwardData
                ? $"few channels (C = {g.C}, K = {g.K}): 32 output pixels per vector pair, one pair per output channel, no im2col"
                : $"few channels (C = {g.C}, K = {g.K}): the pass's output channels in the vector lanes, no im2col");
        string? why = WinogradConv.Unsupported(g, pass == CpuConvPass.BackwardData);
        if (why is null && ForcedConvAlgorithm is CpuConvAlgorithm.WinogradF2x3)
            return new(pass, CpuConvAlgorithm.WinogradF2x3, "forced");
        if (why is null && ForcedConvAlgorithm is null && Math.Min(g.C, g.K) < WinogradMinChannels)
            why = $"min(C, K) = {Math.Min(g.C, g.K)} below {WinogradMinChannels}";
        if (why is null && ForcedConvAlgorithm is null)
            return new(pass, CpuConvAlgorithm.WinogradF2x3, pass == CpuConvPass.BackwardWeights
                ? "3x3 stride 1: F(3x3,2x2) weight gradient, 2.25x fewer multiplies than im2col + GEMM"
                : "3x3 stride 1: 2.25x fewer multiplies than im2col + GEMM");
        return new(pass, CpuConvAlgorithm.Im2ColGemm, $"Winograd F(2x2,3x3) not used: {why ?? "forced"}");
    }
}
