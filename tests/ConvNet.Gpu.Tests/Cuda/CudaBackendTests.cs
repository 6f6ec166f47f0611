using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// What is specific to CudaBackend on the emulated device: identity and options, zeroed allocation from a reused pool
/// block, workspace reuse, convolution chunking under a workspace limit, and bit-identical repeated runs of the
/// backward passes (gathers and fixed-order reductions, no atomics).
/// </summary>
public sealed class CudaBackendTests
{
    private readonly TestRng _rng = new();

    [Fact]
    public void NameAndDescriptionSayEmulated()
    {
        using var cuda = CudaTestBackends.CreateEmulated();
        Assert.Equal("CUDA (emulated)", cuda.Name);
        Assert.True(cuda.IsCuda);
        Assert.True(cuda.IsEmulated);
        Assert.Contains("CUDA (emulated)", cuda.Description);
        Assert.Contains("TF32 off", cuda.Description);
    }

    [Fact]
    public void Tf32IsOffByDefaultAndSwitchable()
    {
        using var off = CudaTestBackends.CreateEmulated();
        Assert.False(off.AllowTf32);
        off.AllowTf32 = true;
        Assert.True(off.AllowTf32);
        using var on = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { AllowTf32 = true });
        Assert.True(on.AllowTf32);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1025, 0)]
    [InlineData(64, -1)]
    public void InvalidLaunchOptionsAreRejectedWithTheirValues(int blockSize, int maxGrid)
    {
        var options = new CudaBackendOptions { BlockSize = blockSize, MaxGridBlocks = maxGrid };
        var e = Assert.ThrowsAny<ConvNetArgumentException>(options.Validate);
        Assert.Contains(blockSize is < 1 or > 1024 ? $"{blockSize}" : $"{maxGrid}", e.Message);
    }

    [Fact]
    public void AllocationIsZeroEvenWhenThePoolHandsBackADirtyBlock()
    {
        using var cuda = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { UseMemoryPool = true });
        var shape = TensorShape.Nchw(2, 3, 4, 5);
        using (var dirty = cuda.Allocate(shape)) cuda.Fill(dirty, float.NaN);
        long allocations = cuda.GetMemoryStats().BytesCached;
        Assert.True(allocations > 0, "the freed block should be cached by the pool");
        using var fresh = cuda.Allocate(shape);
        Assert.All(fresh.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(0, cuda.GetMemoryStats().BytesCached); // the cached block was reused
    }

    [Fact]
    public void OutOfMemoryIsCatchableNamesTheBytesAndLeavesTheBackendUsable()
    {
        string? reason = Backends.Cuda.Emulation.EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
        // Im2ColGemm forced: its column workspace is what does not fit (the implicit-GEMM kernels need none).
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions with { UseMemoryPool = true, ForceConvAlgorithm = ConvAlgorithm.Im2ColGemm },
            memoryLimitBytes: 1 << 20);
        var tooBig = Assert.Throws<CudaOutOfMemoryException>(() => cuda.Allocate(TensorShape.Vector(1 << 20))); // 4 MiB
        Assert.True(tooBig.RequestedBytes >= 4L << 20, $"requested {tooBig.RequestedBytes}");
        Assert.Contains($"{tooBig.RequestedBytes:N0} bytes", tooBig.Message);

        // A convolution whose im2col workspace does not fit fails the same way, before any output is touched...
        var big = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(4, 16, 32, 32), 4); // columns 2.3 MiB
        using var x = cuda.Allocate(big.InputShape);
        using var w = cuda.Allocate(big.WeightShape);
        using var y = cuda.Allocate(big.OutputShape);
        Assert.Throws<CudaOutOfMemoryException>(() => cuda.Conv2dForward(x, w, null, y, big));

        // ...and the backend keeps working: a small convolution and a copy round-trip succeed.
        var small = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(1, 2, 5, 5), 3);
        float[] xs = _rng.Uniform(small.InputShape.ElementCount), ws = _rng.Uniform(small.WeightShape.ElementCount);
        using var xt = cuda.Allocate(small.InputShape);
        using var wt = cuda.Allocate(small.WeightShape);
        using var yt = cuda.Allocate(small.OutputShape);
        xt.Upload(xs);
        wt.Upload(ws);
        cuda.Conv2dForward(xt, wt, null, yt, small);
        TensorAssert.Close(yt.ToArray(), ConvReference.Forward(Array.ConvertAll(xs, v => (double)v), Array.ConvertAll(ws, v => (double)v), null, small),
            Tolerance.Float32VsFloat64, small.OutputShape, "conv after out-of-memory");
    }

    [Theory]
    [InlineData(0, 3)]   // destination ahead of the source: a forward copy would smear
    [InlineData(3, 0)]   // destination behind the source
    public void CopyBetweenOverlappingViewsBehavesLikeMemmove(int from, int to)
    {
        using var cuda = CudaTestBackends.CreateEmulated();
        float[] data = _rng.Uniform(16);
        using var t = cuda.Allocate(TensorShape.Vector(16));
        t.Upload(data);
        using var source = t.View(TensorShape.Vector(10), from);
        using var destination = t.View(TensorShape.Vector(10), to);
        cuda.Copy(source, destination);
        var expected = (float[])data.Clone();
        Array.Copy(data, from, expected, to, 10);
        TensorAssert.Equal(t.ToArray(), expected, null, $"copy of [{from}, {from + 10}) onto [{to}, {to + 10})");
    }

    [Fact]
    public void ConvolutionWorkspacesAreReusedAcrossCalls()
    {
        using var cuda = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { UseMemoryPool = true });
        var g = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(2, 3, 6, 5), 4);
        using var x = cuda.Allocate(g.InputShape);
        using var w = cuda.Allocate(g.WeightShape);
        using var y = cuda.Allocate(g.OutputShape);
        using var dw = cuda.Allocate(g.WeightShape);
        x.Upload(_rng.Uniform(g.InputShape.ElementCount));
        w.Upload(_rng.Uniform(g.WeightShape.ElementCount));
        cuda.Conv2dForward(x, w, null, y, g);
        cuda.Conv2dBackwardWeights(x, y, dw, g, accumulate: false);
        cuda.Synchronize();
        var first = cuda.GetMemoryStats();
        for (int i = 0; i < 3; i++)
        {
            cuda.Conv2dForward(x, w, null, y, g);
            cuda.Conv2dBackwardData(y, w, x, g);
            cuda.Conv2dBackwardWeights(x, y, dw, g, accumulate: true);
        }
        cuda.Synchronize();
        var later = cuda.GetMemoryStats();
        Assert.Equal(first.LiveAllocations, later.LiveAllocations);
        Assert.Equal(first.BytesInUse, later.BytesInUse);
    }

    /// <summary>
    /// A workspace limit below one sample's columns forces one sample per chunk. Forward and backward-data must match the
    /// unchunked run bit for bit (each sample's GEMM is the same); backward-weights sums the chunks with beta = 1, so it
    /// matches within the FP32 tolerance, and every variant matches the float64 reference.
    /// </summary>
    [Fact]
    public void ChunkingTheBatchUnderAWorkspaceLimitGivesTheSameConvolution()
    {
        var g = Conv2dSpec.Square(3, stride: 2, padding: 1, groups: 2).Resolve(TensorShape.Nchw(3, 4, 7, 6), 6);
        float[] x = _rng.Uniform(g.InputShape.ElementCount), w = _rng.Uniform(g.WeightShape.ElementCount);
        float[] dy = _rng.Uniform(g.OutputShape.ElementCount);
        var whole = RunConv(CudaTestBackends.EmulatedOptions, g, x, w, dy);
        var chunked = RunConv(CudaTestBackends.EmulatedOptions with { MaxWorkspaceBytes = 4 }, g, x, w, dy);
        TensorAssert.Equal(chunked.Y, whole.Y, g.OutputShape, "forward, chunked vs whole batch");
        TensorAssert.Equal(chunked.Dx, whole.Dx, g.InputShape, "backward-data, chunked vs whole batch");
        TensorAssert.Close(chunked.Dw, whole.Dw, Tolerance.CudaVsCpuFp32, g.WeightShape, "backward-weights, chunked vs whole batch");
        double[] xd = Array.ConvertAll(x, v => (double)v), wd = Array.ConvertAll(w, v => (double)v), dyd = Array.ConvertAll(dy, v => (double)v);
        TensorAssert.Close(chunked.Y, ConvReference.Forward(xd, wd, null, g), Tolerance.Float32VsFloat64, g.OutputShape, "forward vs float64");
        TensorAssert.Close(chunked.Dw, ConvReference.BackwardWeights(xd, dyd, g), Tolerance.Float32VsFloat64, g.WeightShape, "backward-weights vs float64");
    }

    private static (float[] Y, float[] Dx, float[] Dw) RunConv(CudaBackendOptions options, Conv2dGeometry g, float[] x, float[] w, float[] dy)
    {
        using var cuda = CudaTestBackends.CreateEmulated(options);
        using var xt = cuda.Allocate(g.InputShape);
        using var wt = cuda.Allocate(g.WeightShape);
        using var dyt = cuda.Allocate(g.OutputShape);
        using var y = cuda.Allocate(g.OutputShape);
        using var dx = cuda.Allocate(g.InputShape);
        using var dw = cuda.Allocate(g.WeightShape);
        xt.Upload(x);
        wt.Upload(w);
        dyt.Upload(dy);
        cuda.Conv2dForward(xt, wt, null, y, g);
        cuda.Conv2dBackwardData(dyt, wt, dx, g);
        cuda.Conv2dBackwardWeights(xt, dyt, dw, g, accumulate: false);
        return (y.ToArray(), dx.ToArray(), dw.ToArray());
    }

    /// <summary>
    /// The backward passes that cuDNN does not make deterministic (max-pool backward with overlapping windows, conv
    /// backward-weights and -data) plus the block reductions, each run twice on fresh backends: bit-identical.
    /// </summary>
    [Fact]
    public void BackwardPassesAreBitIdenticalAcrossRunsAndBackends()
    {
        var conv = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(3, 3, 6, 7), 5);
        var pool = new Pool2dSpec(3, 3, 1, 1, 1, 1).Resolve(TensorShape.Nchw(2, 3, 6, 5));
        float[] x = _rng.Uniform(conv.InputShape.ElementCount), w = _rng.Uniform(conv.WeightShape.ElementCount);
        float[] dy = _rng.Uniform(conv.OutputShape.ElementCount);
        float[] px = _rng.Uniform(pool.InputShape.ElementCount), pdy = _rng.Uniform(pool.OutputShape.ElementCount);
        float[][] Run()
        {
            using var cuda = CudaTestBackends.CreateEmulated();
            using var xt = cuda.Allocate(conv.InputShape);
            using var wt = cuda.Allocate(conv.WeightShape);
            using var dyt = cuda.Allocate(conv.OutputShape);
            using var dx = cuda.Allocate(conv.InputShape);
            using var dw = cuda.Allocate(conv.WeightShape);
            using var db = cuda.Allocate(TensorShape.Vector(conv.K));
            using var pxt = cuda.Allocate(pool.InputShape);
            using var py = cuda.Allocate(pool.OutputShape);
            using var arg = cuda.Allocate(pool.OutputShape, DataType.Int32);
            using var pdyt = cuda.Allocate(pool.OutputShape);
            using var pdx = cuda.Allocate(pool.InputShape);
            xt.Upload(x); wt.Upload(w); dyt.Upload(dy); pxt.Upload(px); pdyt.Upload(pdy);
            cuda.Conv2dBackwardData(dyt, wt, dx, conv);
            cuda.Conv2dBackwardWeights(xt, dyt, dw, conv, accumulate: false);
            cuda.BiasGradient(dyt, db, accumulate: false);
            cuda.MaxPool2dForward(pxt, py, arg, pool);
            cuda.MaxPool2dBackward(pdyt, arg, pdx, pool);
            return [dx.ToArray(), dw.ToArray(), db.ToArray(), pdx.ToArray()];
        }
        var first = Run();
        var second = Run();
        string[] names = ["conv dx", "conv dw", "bias grad", "max-pool dx"];
        for (int i = 0; i < first.Length; i++) TensorAssert.Equal(second[i], first[i], null, $"{names[i]}, run 2 vs run 1");
    }
}
