using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The convolution algorithm registry: which algorithm each case of the conv table gets under the fixed cost order (what
/// the emulated device and Autotune Off use), forced algorithms and their fallback to Im2ColGemm with the reason, the
/// launches each algorithm makes (no column buffer for the implicit GEMMs, the sm_70 and sm_80 kernel variants), and the
/// decisions' visibility.
/// </summary>
public sealed class ConvAlgorithmSelectionTests
{
    private static readonly ConvPass[] Passes = [ConvPass.Forward, ConvPass.BackwardData, ConvPass.BackwardWeights];

    private static bool IsDepthwise(Conv2dGeometry g) => g.Groups == g.C;

    private static bool IsPointwise(Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadTop + g.PadBottom + g.PadLeft + g.PadRight == 0;

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void The_fixed_cost_order_picks_the_specialised_kernel_then_tensor_cores_then_the_implicit_GEMM(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        foreach (bool tf32 in new[] { false, true })
        {
            using var cuda = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { AllowTf32 = tf32 });
            var expected = IsDepthwise(g) ? ConvAlgorithm.Depthwise
                : IsPointwise(g) ? ConvAlgorithm.PointwiseGemm
                : tf32 ? ConvAlgorithm.ImplicitGemmTf32 : ConvAlgorithm.ImplicitGemmFp32;
            foreach (var pass in Passes)
            {
                var choice = cuda.ConvAlgorithmFor(pass, g);
                Assert.Equal(expected, choice.Algorithm);
                Assert.Equal("fixed cost order (emulated device)", choice.Reason);
                Assert.DoesNotContain(ConvAlgorithm.Im2ColGemm, choice.Rejected.Keys); // the fallback runs everything
                if (!tf32) Assert.Equal("TF32 is not allowed (CudaBackendOptions.AllowTf32 is false)", choice.Rejected[ConvAlgorithm.ImplicitGemmTf32]);
            }
        }
    }

    [Theory]
    [InlineData(ConvAlgorithm.Depthwise, "k3_s1_valid", "not depthwise: groups 1 != C 3")]
    [InlineData(ConvAlgorithm.Depthwise, "groups2_pad1", "not depthwise: groups 2 != C 4")]
    [InlineData(ConvAlgorithm.PointwiseGemm, "k1x1_s2", "stride (2,2) is not 1")]
    [InlineData(ConvAlgorithm.PointwiseGemm, "k1x1_pad2", "padded")]
    [InlineData(ConvAlgorithm.PointwiseGemm, "k3_s1_valid", "kernel 3x3 is not 1x1")]
    [InlineData(ConvAlgorithm.ImplicitGemmTf32, "k3_s1_valid", "TF32 is not allowed (CudaBackendOptions.AllowTf32 is false)")]
    public void A_forced_algorithm_that_cannot_run_falls_back_to_im2col_with_the_reason(ConvAlgorithm forced, string name, string why)
    {
        var g = ConvCases.Get(name).Geometry;
        using var cuda = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { ForceConvAlgorithm = forced });
        foreach (var pass in Passes)
        {
            var choice = cuda.ConvAlgorithmFor(pass, g);
            Assert.Equal(ConvAlgorithm.Im2ColGemm, choice.Algorithm);
            Assert.Equal($"forced {forced} cannot run here ({why}); fell back to Im2ColGemm", choice.Reason);
        }
    }

    [Fact]
    public void Tf32_needs_an_sm80_device_even_when_allowed()
    {
        var g = ConvCases.Get("k3_s2_same").Geometry;
        using var sm70 = CudaTestBackends.CreateEmulated(
            CudaTestBackends.EmulatedOptions with { AllowTf32 = true, ForceConvAlgorithm = ConvAlgorithm.ImplicitGemmTf32 }, computeCapability: 70);
        var choice = sm70.ConvAlgorithmFor(ConvPass.Forward, g);
        Assert.Equal(ConvAlgorithm.Im2ColGemm, choice.Algorithm);
        Assert.Contains("needs the sm_80 kernels (mma.sync); this device runs sm_70", choice.Reason);
        using var sm80 = CudaTestBackends.CreateEmulated(
            CudaTestBackends.EmulatedOptions with { AllowTf32 = true, ForceConvAlgorithm = ConvAlgorithm.ImplicitGemmTf32 });
        Assert.Equal(ConvAlgorithm.ImplicitGemmTf32, sm80.ConvAlgorithmFor(ConvPass.Forward, g).Algorithm);
    }

    public static TheoryData<ConvAlgorithm, int, bool, string[], string[], string[]> LaunchCases => new()
    {
        // algorithm, compute capability, TF32, forward / backward-data / backward-weights launches (3-way split)
        { ConvAlgorithm.ImplicitGemmFp32, 80, false, [KernelNames.ImplicitForwardF32Async], [KernelNames.ImplicitBackwardDataF32Async],
            [KernelNames.ImplicitBackwardWeightsF32Async, KernelNames.ImplicitBackwardWeightsReduce] },
        { ConvAlgorithm.ImplicitGemmFp32, 70, false, [KernelNames.ImplicitForwardF32], [KernelNames.ImplicitBackwardDataF32],
            [KernelNames.ImplicitBackwardWeightsF32, KernelNames.ImplicitBackwardWeightsReduce] },
        { ConvAlgorithm.ImplicitGemmTf32, 80, true, [KernelNames.ImplicitForwardTf32], [KernelNames.ImplicitBackwardDataTf32],
            [KernelNames.ImplicitBackwardWeightsTf32, KernelNames.ImplicitBackwardWeightsReduce] },
    };

    [Theory, MemberData(nameof(LaunchCases))]
    public void The_implicit_GEMM_is_one_launch_per_pass_with_no_column_buffer(ConvAlgorithm algorithm, int computeCapability, bool tf32,
        string[] forward, string[] backwardData, string[] backwardWeights)
    {
        // N*OH*OW = 3 * 8 * 8 = 192 pixels: three 64-pixel splits.
        var g = Conv2dSpec.Square(3, stride: 2, padding: 1, groups: 2).Resolve(TensorShape.Nchw(3, 4, 16, 16), 6);
        var emulator = EmulatedCudaDevice.Open(computeCapability: computeCapability);
        var device = new RecordingCudaDevice(emulator);
        using var cuda = new CudaBackend(device, CudaTestBackends.EmulatedOptions with { ForceConvAlgorithm = algorithm, AllowTf32 = tf32, WgradSplits = 3 });
        using var x = cuda.Allocate(g.InputShape);
        using var w = cuda.Allocate(g.WeightShape);
        using var b = cuda.Allocate(g.BiasShape);
        using var y = cuda.Allocate(g.OutputShape);
        using var dx = cuda.Allocate(g.InputShape);
        using var dw = cuda.Allocate(g.WeightShape);
        long before = emulator.BytesAllocated;
        device.Clear();
        cuda.Conv2dForward(x, w, b, y, g); // bias fused into the epilogue: no bias-add launch
        Assert.Equal(forward, device.Launches.Select(l => l.Kernel));
        device.Clear();
        cuda.Conv2dBackwardData(y, w, dx, g);
        Assert.Equal(backwardData, device.Launches.Select(l => l.Kernel));
        device.Clear();
        cuda.Conv2dBackwardWeights(x, y, dw, g, accumulate: false);
        Assert.Equal(backwardWeights, device.Launches.Select(l => l.Kernel));
        Assert.Empty(device.Gemms);
        Assert.Equal(0, device.HostBlockingCalls);
        // Forward and backward-data allocate nothing; backward-weights only its 3 partial tiles (3 x K x C/G*KH*KW).
        Assert.Equal(3L * g.WeightShape.ElementCount * 4, emulator.BytesAllocated - before);
    }

    [Fact]
    public void Depthwise_and_pointwise_launch_no_im2col()
    {
        var dwg = Conv2dSpec.Square(3, padding: 1, groups: 4).Resolve(TensorShape.Nchw(2, 4, 7, 6), 8);
        var pwg = Conv2dSpec.Square(1).Resolve(TensorShape.Nchw(3, 4, 5, 5), 6);
        var device = new RecordingCudaDevice(EmulatedCudaDevice.Open());
        using var cuda = new CudaBackend(device, CudaTestBackends.EmulatedOptions);
        void Passes3(Conv2dGeometry g)
        {
            using var x = cuda.Allocate(g.InputShape);
            using var w = cuda.Allocate(g.WeightShape);
            using var y = cuda.Allocate(g.OutputShape);
            using var dx = cuda.Allocate(g.InputShape);
            using var dw = cuda.Allocate(g.WeightShape);
            cuda.Conv2dForward(x, w, null, y, g);
            cuda.Conv2dBackwardData(y, w, dx, g);
            cuda.Conv2dBackwardWeights(x, y, dw, g, accumulate: true);
        }
        device.Clear();
        Passes3(dwg);
        Assert.Equal([KernelNames.DepthwiseForward, KernelNames.DepthwiseBackwardData, KernelNames.DepthwiseBackwardWeights],
            device.Launches.Select(l => l.Kernel));
        Assert.Empty(device.Gemms);
        device.Clear();
        Passes3(pwg);
        // Backward-weights transposes dY and x (copies, no im2col) and sums the batch in one GEMM.
        Assert.Equal([KernelNames.SwapOuter, KernelNames.SwapOuter], device.Launches.Select(l => l.Kernel));
        Assert.Equal([3, 3, 1], device.Gemms.Select(gemm => gemm.BatchCount));
        Assert.Equal(3 * 25, device.Gemms[2].K); // reduction over N*H*W
    }

    [Fact]
    public void Each_decision_is_made_once_and_recorded_in_order()
    {
        var g1 = ConvCases.Get("k3_s2_same").Geometry;
        var g2 = ConvCases.Get("depthwise_s2_pad1").Geometry;
        using var cuda = CudaTestBackends.CreateEmulated();
        using var x = cuda.Allocate(g1.InputShape);
        using var w = cuda.Allocate(g1.WeightShape);
        using var y = cuda.Allocate(g1.OutputShape);
        cuda.Conv2dForward(x, w, null, y, g1);
        cuda.Conv2dForward(x, w, null, y, g1);
        cuda.Conv2dBackwardData(y, w, x, g1);
        _ = cuda.ConvAlgorithmFor(ConvPass.Forward, g2);
        Assert.Equal([(ConvPass.Forward, g1), (ConvPass.BackwardData, g1), (ConvPass.Forward, g2)],
            cuda.ConvAlgorithmChoices.Select(c => (c.Pass, c.Geometry)));
        Assert.Equal([ConvAlgorithm.ImplicitGemmFp32, ConvAlgorithm.ImplicitGemmFp32, ConvAlgorithm.Depthwise],
            cuda.ConvAlgorithmChoices.Select(c => c.Algorithm));
        Assert.Contains("ImplicitGemmFp32 (fixed cost order (emulated device))", cuda.ConvAlgorithmChoices[0].ToString());
    }
}
