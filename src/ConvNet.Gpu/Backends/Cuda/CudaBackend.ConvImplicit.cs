using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// ConvAlgorithm.ImplicitGemmFp32 / ImplicitGemmTf32: kernels/conv_igemm.cu. One launch per pass (plus, for a split
// backward-weights, the fixed-order sum of the partial tiles); no column buffer. The FP32 kernels use cp.async on a
// device running the sm_80 kernels and plain double-buffered loads below; TF32 needs sm_80 (the registry checks).
// Block: 256 threads; tile 64 rows x 128 columns (ConvAlgorithmRegistry.TileRows/TileColumns).
public sealed partial class CudaBackend
{
    private const int ImplicitThreads = 256;

    /// <summary>Whether this device runs the sm_80 kernels (cp.async, mma.sync).</summary>
    private bool HasSm80Kernels => _device.Info.PtxTarget >= 80;

    private void ForwardImplicit(ulong x, ulong w, ulong bias, ulong y, Conv2dGeometry g, bool tf32, int act, float alpha)
    {
        var p = ImplicitGeometry(g);
        // The epilogue: act(D + bias), act -1 = none.
        var call = tf32 ? CudaKernels.ImplicitForwardTf32(x, w, bias, y, p, act, alpha)
            : HasSm80Kernels ? CudaKernels.ImplicitForwardF32Async(x, w, bias, y, p, act, alpha)
            : CudaKernels.ImplicitForwardF32(x, w, bias, y, p, act, alpha);
        LaunchImplicit(call, g.KPerGroup, (long)g.N * g.OutputPlane, g.Groups, 1);
    }

    private void BackwardDataImplicit(ulong dy, ulong w, ulong dx, Conv2dGeometry g, bool tf32)
    {
        var p = ImplicitGeometry(g);
        var call = tf32 ? CudaKernels.ImplicitBackwardDataTf32(dy, w, dx, p)
            : HasSm80Kernels ? CudaKernels.ImplicitBackwardDataF32Async(dy, w, dx, p)
            : CudaKernels.ImplicitBackwardDataF32(dy, w, dx, p);
        LaunchImplicit(call, g.CPerGroup, (long)g.N * g.InputPlane, g.Groups, 1);
    }

    private void BackwardWeightsImplicit(ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate, bool tf32)
    {
        var (splits, span) = WgradSplits(g);
        long weights = (long)g.K * g.ColumnRowsPerGroup;
        ulong target = splits == 1 ? dw : WorkspaceFloats(PartialSlot, splits * weights);
        var p = ImplicitGeometry(g);
        int accumulateFlag = accumulate ? 1 : 0;
        var call = tf32 ? CudaKernels.ImplicitBackwardWeightsTf32(x, dy, target, p, span, splits, accumulateFlag)
            : HasSm80Kernels ? CudaKernels.ImplicitBackwardWeightsF32Async(x, dy, target, p, span, splits, accumulateFlag)
            : CudaKernels.ImplicitBackwardWeightsF32(x, dy, target, p, span, splits, accumulateFlag);
        LaunchImplicit(call, g.KPerGroup, g.ColumnRowsPerGroup, g.Groups, splits);
        if (splits == 1) return;
        LaunchElements(CudaKernels.ImplicitBackwardWeightsReduce(target, dw, weights, splits, accumulateFlag), weights);
    }

    /// <summary>
    /// How backward-weights cuts its reduction over the N*OH*OW output pixels: enough splits to give the device about two
    /// blocks per SM, each split at least 256 pixels, at most 64 splits; CudaBackendOptions.WgradSplits overrides the
    /// count. The span is a multiple of 16 pixels (one TF32 k-step). Deterministic for a given device and geometry.
    /// </summary>
    internal (int Splits, int Span) WgradSplits(Conv2dGeometry g)
    {
        long pixels = (long)g.N * g.OutputPlane;
        long tiles = (long)g.Groups * Tiles(g.KPerGroup, ConvAlgorithmRegistry.TileRows) * Tiles(g.ColumnRowsPerGroup, ConvAlgorithmRegistry.TileColumns);
        long wanted = Options.WgradSplits > 0
            ? Options.WgradSplits
            : Math.Min(Tiles(2L * Math.Max(1, _device.Info.MultiprocessorCount), tiles), Tiles(pixels, 256));
        wanted = Math.Clamp(wanted, 1, 64);
        long span = Tiles(Tiles(pixels, wanted), 16) * 16;
        return ((int)Tiles(pixels, span), (int)span);
    }

    private static long Tiles(long extent, long tile) => (extent + tile - 1) / tile;

    /// <summary>One launch of a tile kernel: grid.y = groups x row tiles, grid.x = column tiles (capped by MaxGridBlocks:
    /// the kernels walk their column tiles grid-stride), grid.z = splits.</summary>
    private void LaunchImplicit(in KernelCall call, int rows, long columns, int groups, int splits)
    {
        long columnTiles = Tiles(columns, ConvAlgorithmRegistry.TileColumns);
        if (Options.MaxGridBlocks > 0) columnTiles = Math.Min(columnTiles, Options.MaxGridBlocks);
        int gridY = checked(groups * (int)Tiles(rows, ConvAlgorithmRegistry.TileRows));
        Launch(call, new Dim3(checked((int)columnTiles), gridY, splits), ImplicitThreads);
    }

    /// <summary>The geometry parameters of every conv_igemm.cu kernel (CN_GEOMETRY_PARAMS).</summary>
    private static CudaKernels.GeometryParams ImplicitGeometry(Conv2dGeometry g) =>
        new(g.N, g.C, g.H, g.W, g.K, g.KH, g.KW, g.SH, g.SW, g.PadTop, g.PadLeft, g.DH, g.DW, g.OH, g.OW, g.Groups);
}
