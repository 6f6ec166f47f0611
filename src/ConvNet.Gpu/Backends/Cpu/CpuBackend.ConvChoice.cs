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
            CpuConvPass.BackwardData => SmallChannelConv.AppliesBackwardData(g) || SmallChannelConv.PrefersPixelRowsBackwardData(g),
            _ => SmallChannelConv.AppliesBackwardWeights(g),
        };
        // Forcing the direct kernels also reaches the pixel-lane backward-data where it is supported but not preferred.
        bool smallForced = ForcedConvAlgorithm is CpuConvAlgorithm.DirectSmallChannel &&
            (small || pass == CpuConvPass.BackwardData && PixelRowsBackwardData.Supports(g));
        if (smallForced || small && ForcedConvAlgorithm is null)
            return new(pass, CpuConvAlgorithm.DirectSmallChannel, SmallChannelReason(g, pass));
        string? why = WinogradConv.Unsupported(g, pass == CpuConvPass.BackwardData);
        if (why is null && ForcedConvAlgorithm is CpuConvAlgorithm.WinogradF2x3)
            return new(pass, CpuConvAlgorithm.WinogradF2x3, "forced");
        if (why is null && ForcedConvAlgorithm is null && Math.Min(g.C, g.K) < WinogradMinChannels)
            why = $"min(C, K) = {Math.Min(g.C, g.K)} below {WinogradMinChannels}";
        if (why is null && ForcedConvAlgorithm is null)
            return new(pass, CpuConvAlgorithm.WinogradF2x3, pass == CpuConvPass.BackwardWeights
                ? "3x3 stride 1: F(3x3,2x2) weight gradient, 2.25x fewer multiplies than im2col + GEMM"
                : "3x3 stride 1: 2.25x fewer multiplies than im2col + GEMM");
        bool implicitSupported = pass != CpuConvPass.BackwardData && ImplicitGemmConv.Supports(g);
        if (implicitSupported && ForcedConvAlgorithm is CpuConvAlgorithm.ImplicitGemm)
            return new(pass, CpuConvAlgorithm.ImplicitGemm, "forced");
        string? implicitWhy = ImplicitGemmNotPreferred(g, pass);
        if (implicitWhy is null && ForcedConvAlgorithm is null)
            return new(pass, CpuConvAlgorithm.ImplicitGemm, $"no Winograd ({why}); {g.C * g.KH * g.KW} taps x {g.K} channels: " +
                "implicit GEMM, input broadcast from padded row bands, no im2col buffer");
        return new(pass, CpuConvAlgorithm.Im2ColGemm, ForcedConvAlgorithm is null
            ? $"Winograd F(2x2,3x3) not used: {why}; implicit GEMM not used: {implicitWhy}"
            : $"forced {ForcedConvAlgorithm} does not run this pass, or forced");
    }

    /// <summary>
    /// Why the implicit GEMM is not the choice for this pass (null when it is): it needs AVX-512F, one group, a
    /// horizontal stride of 1 or 2, and enough work per register tile: at least 32 output channels (one full panel)
    /// and 64 taps (C*KH*KW), so its per-tile transposition and the padded-band copy stay small against the
    /// multiply-adds. No backward-data kernel (im2col + GEMM, col2im).
    /// </summary>
    private static string? ImplicitGemmNotPreferred(Conv2dGeometry g, CpuConvPass pass)
    {
        if (pass == CpuConvPass.BackwardData) return "no backward-data kernel";
        if (!ImplicitGemmConv.Supports(g))
            return g.Groups != 1 ? $"groups = {g.Groups}" : g.SW is not (1 or 2) ? $"horizontal stride {g.SW} is not 1 or 2" : "needs AVX-512F";
        if (g.K < 32) return $"K = {g.K} below 32";
        if (g.C * g.KH * g.KW < 64) return $"{g.C * g.KH * g.KW} taps below 64";
        return null;
    }

    private static string SmallChannelReason(Conv2dGeometry g, CpuConvPass pass) => pass switch
    {
        CpuConvPass.BackwardData when !SmallChannelConv.AppliesBackwardData(g) =>
            $"few input channels (C = {g.C}, K = {g.K}): 16 dX pixels of a row per vector, one accumulator per input channel and row, no im2col",
        not CpuConvPass.BackwardData when SmallChannelConv.PixelLanes(g) =>
            $"few channels (C = {g.C}, K = {g.K}): 32 output pixels per vector pair, one pair per output channel, no im2col",
        _ => $"few channels (C = {g.C}, K = {g.K}): the pass's output channels in the vector lanes, no im2col",
    };
}
