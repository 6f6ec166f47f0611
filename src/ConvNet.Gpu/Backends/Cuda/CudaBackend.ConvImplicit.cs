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
        string kernel = tf32 ? KernelNames.ImplicitForwardTf32
            : HasSm80Kernels ? KernelNames.ImplicitForwardF32Async : KernelNames.ImplicitForwardF32;
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(w); args.AddPointer(bias); args.AddPointer(y);
        AddImplicitGeometry(ref args, g);
        args.Add(act); args.Add(alpha); // the epilogue: act(D + bias), act -1 = none
        LaunchImplicit(kernel, g.KPerGroup, (long)g.N * g.OutputPlane, g.Groups, 1, args);
    }

    private void BackwardDataImplicit(ulong dy, ulong w, ulong dx, Conv2dGeometry g, bool tf32)
    {
        string kernel = tf32 ? KernelNames.ImplicitBackwardDataTf32
            : HasSm80Kernels ? KernelNames.ImplicitBackwardDataF32Async : KernelNames.ImplicitBackwardDataF32;
        var args = new KernelArgs();
        args.AddPointer(dy); args.AddPointer(w); args.AddPointer(dx);
        AddImplicitGeometry(ref args, g);
        LaunchImplicit(kernel, g.CPerGroup, (long)g.N * g.InputPlane, g.Groups, 1, args);
    }

    private void BackwardWeightsImplicit(ulong x, ulong dy, ulong dw, Conv2dGeometry g, bool accumulate, bool tf32)
    {
        string kernel = tf32 ? KernelNames.ImplicitBackwardWeightsTf32
            : HasSm80Kernels ? KernelNames.ImplicitBackwardWeightsF32Async : KernelNames.ImplicitBackwardWeightsF32;
        var (splits, span) = WgradSplits(g);
        long weights = (long)g.K * g.ColumnRowsPerGroup;
        ulong target = splits == 1 ? dw : WorkspaceFloats(PartialSlot, splits * weights);
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(dy); args.AddPointer(target);
        AddImplicitGeometry(ref args, g);
        args.Add(span); args.Add(splits); args.Add(accumulate ? 1 : 0);
        LaunchImplicit(kernel, g.KPerGroup, g.ColumnRowsPerGroup, g.Groups, splits, args);
        if (splits == 1) return;
        var sum = new KernelArgs();
        sum.AddPointer(target); sum.AddPointer(dw); sum.Add(weights); sum.Add(splits); sum.Add(accumulate ? 1 : 0);
        LaunchElements(KernelNames.ImplicitBackwardWeightsReduce, weights, sum);
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
    private void LaunchImplicit(string kernel, int rows, long columns, int groups, int splits, in KernelArgs args)
    {
        long columnTiles = Tiles(columns, ConvAlgorithmRegistry.TileColumns);
        if (Options.MaxGridBlocks > 0) columnTiles = Math.Min(columnTiles, Options.MaxGridBlocks);
        int gridY = checked(groups * (int)Tiles(rows, ConvAlgorithmRegistry.TileRows));
        _device.Launch(Kernel(kernel), new Dim3(checked((int)columnTiles), gridY, splits), ImplicitThreads, 0, args);
    }

    // N, C, H, W, K, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, G: the geometry parameters of every conv_igemm.cu kernel.
    private static void AddImplicitGeometry(ref KernelArgs args, Conv2dGeometry g)
    {
        args.Add(g.N); args.Add(g.C); args.Add(g.H); args.Add(g.W); args.Add(g.K); args.Add(g.KH); args.Add(g.KW);
        args.Add(g.SH); args.Add(g.SW); args.Add(g.PadTop); args.Add(g.PadLeft); args.Add(g.DH); args.Add(g.DW);
        args.Add(g.OH); args.Add(g.OW); args.Add(g.Groups);
    }
}
