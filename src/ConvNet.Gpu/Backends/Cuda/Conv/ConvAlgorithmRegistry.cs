namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// The convolution algorithms' eligibility rules and the fixed cost order (<see cref="ConvAutotune.Off"/>, and the
/// emulated device). Every candidate is tested against the CPU backend on the same suites; this class only says which
/// may run a given pass, geometry and device, and why not.
/// </summary>
internal static class ConvAlgorithmRegistry
{
    /// <summary>
    /// The fixed cost order, cheapest first: a specialised direct kernel beats a general one when it applies, tensor cores
    /// beat CUDA cores, and an implicit GEMM beats writing the column matrix. Im2ColGemm runs every geometry, so the
    /// order always ends with a candidate.
    /// </summary>
    public static IReadOnlyList<ConvAlgorithm> CostOrder { get; } =
    [
        ConvAlgorithm.Depthwise, ConvAlgorithm.PointwiseGemm, ConvAlgorithm.ImplicitGemmTf32, ConvAlgorithm.ImplicitGemmFp32,
        ConvAlgorithm.Im2ColGemm,
    ];

    /// <summary>Largest grid.y of a launch (the implicit GEMM kernels put groups x row tiles there).</summary>
    private const int MaxGridY = 65535;

    /// <summary>Rows and columns of an implicit GEMM block tile (kernels/cn_igemm.cuh).</summary>
    public const int TileRows = 64, TileColumns = 128;

    /// <summary>
    /// Null when <paramref name="algorithm"/> can run <paramref name="pass"/> of <paramref name="g"/> on a device running
    /// the sm_<paramref name="ptxTarget"/> kernels with TF32 allowed or not; otherwise why not, in words.
    /// </summary>
    public static string? WhyNot(ConvAlgorithm algorithm, ConvPass pass, Conv2dGeometry g, int ptxTarget, bool tf32Allowed)
    {
        switch (algorithm)
        {
            case ConvAlgorithm.Im2ColGemm:
                return null;
            case ConvAlgorithm.ImplicitGemmFp32:
                return ImplicitLimits(pass, g);
            case ConvAlgorithm.ImplicitGemmTf32:
                if (ptxTarget < 80) return $"needs the sm_80 kernels (mma.sync); this device runs sm_{ptxTarget}";
                if (!tf32Allowed) return "TF32 is not allowed (CudaBackendOptions.AllowTf32 is false)";
                return ImplicitLimits(pass, g);
            case ConvAlgorithm.Depthwise:
                // One input channel per group (K/G output channels each, the depth multiplier).
                return g.Groups == g.C ? null : $"not depthwise: groups {g.Groups} != C {g.C}";
            case ConvAlgorithm.PointwiseGemm:
                if (g.KH != 1 || g.KW != 1) return $"kernel {g.KH}x{g.KW} is not 1x1";
                if (g.SH != 1 || g.SW != 1) return $"stride ({g.SH},{g.SW}) is not 1";
                if (g.PadTop != 0 || g.PadBottom != 0 || g.PadLeft != 0 || g.PadRight != 0) return "padded";
                return null;
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null);
        }
    }

    /// <summary>The implicit GEMM kernels index pixels of the whole batch and elements of one image with 32-bit ints.</summary>
    private static string? ImplicitLimits(ConvPass pass, Conv2dGeometry g)
    {
        long outputPixels = (long)g.N * g.OutputPlane, inputPixels = (long)g.N * g.InputPlane;
        if (outputPixels > int.MaxValue) return $"N*OH*OW = {outputPixels} exceeds the kernels' 32-bit pixel index";
        if (pass == ConvPass.BackwardData && inputPixels > int.MaxValue) return $"N*H*W = {inputPixels} exceeds the kernels' 32-bit pixel index";
        if ((long)g.C * g.InputPlane > int.MaxValue || (long)g.K * g.OutputPlane > int.MaxValue)
            return "one image has more than 2^31 elements";
        long rows = pass == ConvPass.BackwardData ? g.CPerGroup : g.KPerGroup;
        long gridY = g.Groups * ((rows + TileRows - 1) / TileRows);
        if (gridY > MaxGridY) return $"groups x row tiles = {gridY} exceeds the grid's y limit {MaxGridY}";
        return null;
    }
}
