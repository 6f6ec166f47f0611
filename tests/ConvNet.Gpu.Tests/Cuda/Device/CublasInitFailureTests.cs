using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cuda;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>Tests that change process-wide state of the stand-in driver: they run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(StandInDriverSerial), DisableParallelization = true)]
public sealed class StandInDriverSerial;

/// <summary>
/// A cuBLAS that loads but fails to initialize (what cuBLAS 13 does on a CUDA 12 driver, or any cuBLAS on a GPU it does
/// not support) makes CUDA unavailable, so <see cref="Backend.Default"/> takes the CPU and says why, instead of throwing.
/// On the stand-in driver of build/test-driver-path.sh, whose cuBLAS can be told to fail the next cublasCreate_v2.
/// </summary>
[Collection(nameof(StandInDriverSerial))]
public sealed class CublasInitFailureTests
{
    [Fact]
    public void A_cublas_that_fails_to_initialize_is_unavailable_and_Default_falls_back_to_the_CPU_with_the_reason()
    {
        StandInDriver.Require();
        if (Backend.QueryCuda() is { IsAvailable: false } query) Assert.Skip($"CUDA GPU unavailable: {query.Reason}");
        // Another user of the device holds the primary context meanwhile: a failed start must not release its reference.
        using var held = Backend.Cuda();
        Assert.Equal(StandInDriver.DeviceName, held.DeviceInfo.Name);
        using var heldTensor = held.Allocate(TensorShape.Vector(8));
        long contexts = StandInDriver.Live("context_refs"), streams = StandInDriver.Live("streams"), modules = StandInDriver.Live("modules");
        Assert.Equal(1, contexts);

        StandInDriver.FailNextCublasCreate(1); // CUBLAS_STATUS_NOT_INITIALIZED
        var e = Assert.Throws<CudaUnavailableException>(() => Backend.Cuda());
        Assert.Matches(@"^cuBLAS \S+/libcublas\.so\.13 \(13\.1\.0\) failed to initialize: cublasCreate_v2 returned CUBLAS_STATUS_NOT_INITIALIZED \(1\): "
                       + @"fake: the library was not initialized; driver CUDA 13\.0, compute capability 8\.0$", e.Reason);
        Assert.IsType<CudaException>(e.InnerException);
        // Nothing leaks from the failed start, and nothing more is released: its own stream, modules and context
        // reference go, the other user's context (and so its memory) stays.
        Assert.Equal((contexts, streams, modules), (StandInDriver.Live("context_refs"), StandInDriver.Live("streams"), StandInDriver.Live("modules")));
        held.Fill(heldTensor, 2.5f);
        Assert.All(heldTensor.ToArray(), v => Assert.Equal(2.5f, v));

        StandInDriver.FailNextCublasCreate(1);
        using (var fallback = Backend.Default())
        {
            Assert.IsType<CpuBackend>(fallback);
            Assert.Equal($"CUDA unavailable: {e.Reason}; using CPU", fallback.SelectionReason);
        }
        using var again = Backend.Default(); // the failure was one cublasCreate_v2: CUDA works again
        Assert.IsType<CudaBackend>(again);
    }
}
