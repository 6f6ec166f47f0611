using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// A whole small CNN (conv, batch norm, ReLU, max-pool, dense, dropout, softmax cross-entropy, Adam) trained on CUDA
/// (emulated): it tracks the CPU backend step by step from the same seed, and two CUDA runs end with bit-identical
/// losses and weights (testing.md, "Determinism": gathers and fixed-order reductions, no atomics).
/// </summary>
public sealed class CudaTrainingTests
{
    public CudaTrainingTests()
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
    }

    // No bias on the conv that feeds batch norm: its true gradient is 0, so what reaches it is rounding noise, which Adam
    // rescales into full-size steps that differ between any two backends (a property of the model, not of either backend).
    internal static Sequential Model(IBackend b) =>
        new Sequential(b, (1, 8, 8), seed: 77)
            .Add(new Conv2D(4, 3, padding: 1, useBias: false), new BatchNorm2D(), new ReLU(), new MaxPool2D(2))
            .Add(new Conv2D(6, 3, stride: 2, padding: 1, groups: 2), new ReLU())
            .Add(new Flatten(), new Dense(16), new ReLU(), new Dropout(0.3f), new Dense(3));

    private static (List<float> Losses, float[] Weights) Train(IBackend b)
    {
        var data = SyntheticData.Squares(96, 5);
        using var model = Model(b);
        using var opt = new Adam(0.01f);
        var losses = new Trainer(model, opt).Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 1234 }).StepLosses;
        var weights = model.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray())
            .Concat(model.NamedState.SelectMany(s => s.State.Value.ToArray())).ToArray();
        return (losses, weights);
    }

    [Fact]
    public void TrainingOnCudaTracksTheCpuStepByStep()
    {
        using var cpu = Backend.Cpu(TestBackends.CpuThreads);
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
        var onCpu = Train(cpu);
        var onCuda = Train(cuda);
        Assert.Equal(12, onCuda.Losses.Count);
        // Float32 summation orders differ, so bits differ (measured: losses within 6e-8, weights within 2e-7 after 12 Adam
        // steps); the CUDA-vs-CPU tolerance of testing.md holds for the losses, and 1e-4 relative for the weights, whose
        // small entries move by Adam's normalized steps. A wrong gradient changes the loss in the first digits.
        TensorAssert.Close(onCuda.Losses.ToArray(), onCpu.Losses.ToArray(), Tolerance.CudaVsCpuFp32, null, "step losses, CUDA (emulated) vs CPU");
        TensorAssert.Close(onCuda.Weights, onCpu.Weights, new Tolerance(1e-5, 1e-4), null, "weights after 12 steps, CUDA (emulated) vs CPU");
        Assert.True(onCuda.Losses[^1] < onCuda.Losses[0], $"loss should fall: {onCuda.Losses[0]} -> {onCuda.Losses[^1]}");
    }

    [Fact]
    public void TwoCudaTrainingRunsAreBitIdentical()
    {
        (List<float> Losses, float[] Weights) Run()
        {
            using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
            return Train(cuda);
        }
        var first = Run();
        var second = Run();
        Assert.Equal(first.Losses, second.Losses);
        TensorAssert.Equal(second.Weights, first.Weights, null, "weights after 12 steps, run 2 vs run 1");
    }
}
