using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// How CudaBackend carries out its ops, observed through <see cref="RecordingCudaDevice"/>: Im2ColGemm convolution as
/// im2col plus one strided-batched GEMM per group over the whole batch (never a GEMM per sample), backward-weights as one
/// GEMM call summing over the batch, no host-blocking call inside any op, every launch at the configured block size (the
/// tile kernels at their fixed one) and grid cap, and a failed launch surfacing with the kernel's name.
/// </summary>
public sealed class CudaBackendStructureTests : IDisposable
{
    private static readonly CudaBackendOptions Options = CudaTestBackends.EmulatedOptions with { BlockSize = 128, MaxGridBlocks = 4 };
    private readonly RecordingCudaDevice _device;
    private readonly CudaBackend _cuda;
    private readonly TestRng _rng = new();

    public CudaBackendStructureTests()
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
        _device = new RecordingCudaDevice(EmulatedCudaDevice.Open());
        _cuda = new CudaBackend(_device, Options);
    }

    public void Dispose() => _cuda?.Dispose();

    private Tensor Random(TensorShape shape)
    {
        var t = _cuda.Allocate(shape);
        t.Upload(_rng.Uniform(shape.ElementCount));
        return t;
    }

    [Fact]
    public void Im2ColConvolutionIsOneStridedBatchedGemmPerGroupOverTheBatch()
    {
        // N = 4 samples, 2 groups: C/G*KH*KW = 18 rows per group, K/G = 3 output channels per group, OH*OW = 30.
        var g = Conv2dSpec.Square(3, padding: 1, groups: 2).Resolve(TensorShape.Nchw(4, 4, 6, 5), 6);
        var device = new RecordingCudaDevice(EmulatedCudaDevice.Open());
        using var cuda = new CudaBackend(device, Options with { ForceConvAlgorithm = ConvAlgorithm.Im2ColGemm });
        Tensor Random(TensorShape shape)
        {
            var t = cuda.Allocate(shape);
            t.Upload(_rng.Uniform(shape.ElementCount));
            return t;
        }
        using var x = Random(g.InputShape);
        using var w = Random(g.WeightShape);
        using var b = Random(g.BiasShape);
        using var y = cuda.Allocate(g.OutputShape);
        using var dx = cuda.Allocate(g.InputShape);
        using var dw = cuda.Allocate(g.WeightShape);

        device.Clear();
        cuda.Conv2dForward(x, w, b, y, g);
        Assert.Equal([KernelNames.Im2Col, KernelNames.BiasActivationForward], device.Launches.Select(l => l.Kernel));
        // Column-major cuBLAS sees C^T: m = OH*OW, n = K/G, k = C/G*KH*KW, batch = N.
        Assert.Equal([new RecordingCudaDevice.GemmRecord(30, 3, 18, 4, true), new RecordingCudaDevice.GemmRecord(30, 3, 18, 4, true)], device.Gemms);
        Assert.Equal(0, device.HostBlockingCalls);

        device.Clear();
        cuda.Conv2dBackwardData(y, w, dx, g);
        Assert.Equal([KernelNames.Col2Im], device.Launches.Select(l => l.Kernel));
        Assert.Equal([new RecordingCudaDevice.GemmRecord(30, 18, 3, 4, true), new RecordingCudaDevice.GemmRecord(30, 18, 3, 4, true)], device.Gemms);
        Assert.Equal(0, device.HostBlockingCalls);

        device.Clear();
        cuda.Conv2dBackwardWeights(x, y, dw, g, accumulate: true);
        Assert.Equal([KernelNames.Im2Col, KernelNames.SwapOuter], device.Launches.Select(l => l.Kernel));
        // One call for all groups; its reduction length is the whole batch's output pixels (N*OH*OW = 120).
        Assert.Equal([new RecordingCudaDevice.GemmRecord(18, 3, 120, 2, true)], device.Gemms);
        Assert.Equal(0, device.HostBlockingCalls);
    }

    [Fact]
    public void PointwiseConvolutionSkipsIm2Col()
    {
        var g = Conv2dSpec.Square(1).Resolve(TensorShape.Nchw(3, 4, 5, 5), 2);
        using var x = Random(g.InputShape);
        using var w = Random(g.WeightShape);
        using var y = _cuda.Allocate(g.OutputShape);
        using var dx = _cuda.Allocate(g.InputShape);
        _device.Clear();
        _cuda.Conv2dForward(x, w, null, y, g);
        _cuda.Conv2dBackwardData(y, w, dx, g);
        Assert.Empty(_device.Launches);
        Assert.Equal(2, _device.Gemms.Count);
        Assert.All(_device.Gemms, gemm => Assert.Equal(3, gemm.BatchCount));
    }

    [Fact]
    public void EveryLaunchUsesTheConfiguredBlockAndGridCapAndNoOpBlocksTheHost()
    {
        var conv = Conv2dSpec.Square(3, stride: 2, padding: 1).Resolve(TensorShape.Nchw(2, 3, 9, 8), 4);
        var pool = new Pool2dSpec(2, 2).Resolve(TensorShape.Nchw(2, 3, 8, 8));
        using var x = Random(conv.InputShape);
        using var w = Random(conv.WeightShape);
        using var y = _cuda.Allocate(conv.OutputShape);
        using var dw = _cuda.Allocate(conv.WeightShape);
        using var db = _cuda.Allocate(conv.BiasShape);
        using var px = Random(pool.InputShape);
        using var py = _cuda.Allocate(pool.OutputShape);
        using var arg = _cuda.Allocate(pool.OutputShape, DataType.Int32);
        using var pdx = _cuda.Allocate(pool.InputShape);
        using var logits = Random(TensorShape.Matrix(6, 10));
        using var probs = _cuda.Allocate(TensorShape.Matrix(6, 10));
        using var losses = _cuda.Allocate(TensorShape.Vector(6));
        using var labels = _cuda.Allocate(TensorShape.Vector(6), DataType.Int32);
        labels.Upload([1, 2, 3, 4, 5, 6]);
        using var gamma = Random(TensorShape.Vector(4));
        using var beta = Random(TensorShape.Vector(4));
        using var mean = _cuda.Allocate(TensorShape.Vector(4));
        using var invStd = _cuda.Allocate(TensorShape.Vector(4));
        using var runMean = _cuda.Allocate(TensorShape.Vector(4));
        using var runVar = _cuda.Allocate(TensorShape.Vector(4));
        using var bnY = _cuda.Allocate(conv.OutputShape);
        using var mask = _cuda.Allocate(conv.OutputShape);
        using var sums = _cuda.Allocate(TensorShape.Vector(6));

        _device.Clear();
        _cuda.Conv2dForward(x, w, null, y, conv);
        _cuda.ActivationForward(ActivationKind.ReLU, 0f, y, y);
        _cuda.BatchNorm2dForwardTraining(y, gamma, beta, bnY, mean, invStd, runMean, runVar, 0.1f, 1e-5f);
        _cuda.DropoutForward(bnY, bnY, mask, 0.25f, 42UL, 0UL);
        _cuda.Conv2dBackwardWeights(x, bnY, dw, conv, accumulate: false);
        _cuda.BiasGradient(bnY, db, accumulate: false);
        _cuda.MaxPool2dForward(px, py, arg, pool);
        _cuda.MaxPool2dBackward(py, arg, pdx, pool);
        _cuda.SoftmaxCrossEntropyForward(logits, labels, probs, losses);
        _cuda.SoftmaxCrossEntropyBackward(probs, labels, logits, 1f / 6);
        _cuda.ReduceSum(x, sums, 6, 72, 1, accumulate: false); // 72 > 64: the block-per-output kernel

        Assert.Equal(0, _device.HostBlockingCalls);
        Assert.NotEmpty(_device.Launches);
        Assert.All(_device.Launches, l =>
        {
            // The tile kernels (implicit GEMM) and the depthwise weight-gradient reduction have fixed block shapes.
            bool fixedBlock = l.Kernel.StartsWith("cn_igemm_", StringComparison.Ordinal) && l.Kernel != KernelNames.ImplicitBackwardWeightsReduce
                              || l.Kernel == KernelNames.DepthwiseBackwardWeights;
            Assert.Equal(new Dim3(fixedBlock ? 256 : Options.BlockSize), l.Block);
            Assert.InRange(l.Grid.X, 1, Options.MaxGridBlocks);
        });
    }

    [Fact]
    public void AFailedLaunchNamesTheKernel()
    {
        var pool = new Pool2dSpec(3, 3, 2, 2, 1, 1).Resolve(TensorShape.Nchw(1, 2, 7, 7));
        using var x = Random(pool.InputShape);
        using var y = _cuda.Allocate(pool.OutputShape);
        using var arg = _cuda.Allocate(pool.OutputShape, DataType.Int32);
        using var dx = _cuda.Allocate(pool.InputShape);
        _cuda.MaxPool2dForward(x, y, arg, pool);
        _device.FailKernel = KernelNames.MaxPoolBackward;
        var e = Assert.Throws<CudaException>(() => _cuda.MaxPool2dBackward(y, arg, dx, pool));
        Assert.Equal("cn_maxpool_bwd", e.Kernel);
        Assert.Contains("cn_maxpool_bwd", e.Message);
    }
}
