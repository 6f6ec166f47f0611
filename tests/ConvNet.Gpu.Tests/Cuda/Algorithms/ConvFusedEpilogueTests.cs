using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Algorithms;

/// <summary>
/// The fused bias + activation forward (Conv2dForward with an <see cref="Epilogue"/>) with every algorithm forced: the
/// result equals the CPU backend's conv forward followed by its activation, and the implicit-GEMM and depthwise kernels
/// do it in one launch (the epilogue), the GEMM-based algorithms with one bias + activation pass after the GEMMs.
/// </summary>
public sealed class ConvFusedEpilogueTests
{
    private readonly TestRng _rng = new();

    public static TheoryData<ConvAlgorithm, ActivationKind, float> Cases()
    {
        var data = new TheoryData<ConvAlgorithm, ActivationKind, float>();
        foreach (var a in Enum.GetValues<ConvAlgorithm>())
            foreach (var (kind, alpha) in new[] { (ActivationKind.ReLU, 0f), (ActivationKind.LeakyReLU, 0.1f), (ActivationKind.ELU, 0.7f),
                                                  (ActivationKind.Sigmoid, 0f), (ActivationKind.Tanh, 0f) })
                data.Add(a, kind, alpha);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Bias_and_activation_in_the_epilogue_match_the_cpu_ops(ConvAlgorithm algorithm, ActivationKind kind, float alpha)
    {
        // A case every algorithm runs itself: depthwise and 1x1 where those are forced, a grouped 3x3 otherwise.
        var g = algorithm switch
        {
            ConvAlgorithm.Depthwise => Conv2dSpec.Square(3, stride: 2, padding: 1, groups: 4).Resolve(TensorShape.Nchw(2, 4, 9, 8), 8),
            ConvAlgorithm.PointwiseGemm => Conv2dSpec.Square(1).Resolve(TensorShape.Nchw(2, 6, 5, 7), 5),
            _ => Conv2dSpec.Square(3, padding: 1, groups: 2).Resolve(TensorShape.Nchw(2, 4, 9, 8), 6),
        };
        bool tf32 = algorithm == ConvAlgorithm.ImplicitGemmTf32;
        var emulator = EmulatedCudaDevice.Open();
        var device = new RecordingCudaDevice(emulator);
        using var cuda = new CudaBackend(device, CudaTestBackends.EmulatedOptions with { ForceConvAlgorithm = algorithm, AllowTf32 = tf32 });
        using var cpu = Backend.Cpu(TestBackends.CpuThreads);
        float[] x = _rng.Uniform(g.InputShape.ElementCount), w = _rng.Uniform(g.WeightShape.ElementCount), b = _rng.Uniform(g.K);

        using var cx = cpu.Allocate(g.InputShape);
        using var cw = cpu.Allocate(g.WeightShape);
        using var cb = cpu.Allocate(g.BiasShape);
        using var cy = cpu.Allocate(g.OutputShape);
        cx.Upload(x); cw.Upload(w); cb.Upload(b);
        cpu.Conv2dForward(cx, cw, cb, cy, g);
        cpu.ActivationForward(kind, alpha, cy, cy);

        using var gx = cuda.Allocate(g.InputShape);
        using var gw = cuda.Allocate(g.WeightShape);
        using var gb = cuda.Allocate(g.BiasShape);
        using var gy = cuda.Allocate(g.OutputShape);
        gx.Upload(x); gw.Upload(w); gb.Upload(b);
        device.Clear();
        cuda.Conv2dForward(gx, gw, gb, gy, g, Epilogue.Of(kind, alpha));
        Assert.Equal(algorithm, cuda.ConvAlgorithmFor(ConvPass.Forward, g).Algorithm);
        var launches = device.Launches.Select(l => l.Kernel).ToList();
        if (algorithm is ConvAlgorithm.Im2ColGemm or ConvAlgorithm.PointwiseGemm)
        {
            Assert.Equal(KernelNames.BiasActivationForward, launches[^1]);
            Assert.DoesNotContain(KernelNames.ActivationForward, launches);
        }
        else
        {
            Assert.Single(launches); // bias and activation in the epilogue
        }
        var tolerance = tf32 ? Tolerance.CudaVsCpuTf32ForReduction(g.ColumnRowsPerGroup) : TestBackends.MatmulCudaVsCpuFp32;
        TensorAssert.Close(Array.ConvertAll(gy.ToArray(), v => (double)v), Array.ConvertAll(cy.ToArray(), v => (double)v), tolerance,
            g.OutputShape, _rng.Label($"{algorithm} conv + bias + {kind}({alpha}) {g}"));

        // Without an activation the fused forward is the plain forward.
        cuda.Conv2dForward(gx, gw, gb, gy, g, Epilogue.None);
        cpu.Conv2dForward(cx, cw, cb, cy, g);
        TensorAssert.Close(Array.ConvertAll(gy.ToArray(), v => (double)v), Array.ConvertAll(cy.ToArray(), v => (double)v), tolerance,
            g.OutputShape, _rng.Label($"{algorithm} conv + bias, no activation {g}"));
    }
}
