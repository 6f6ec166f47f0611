using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// cuBLAS chosen from cuDriverGetVersion, end to end through the real bindings: build/test-driver-path.sh runs this class
/// in its own processes with the stand-in driver reporting CUDA 12.8 (FAKE_CUDA_DRIVER_VERSION=12080), once with cuBLAS 13
/// and 12 installed (FAKE_CUBLAS_SCENARIO=choose-12) and once with only cuBLAS 13 (none-usable). A process binds to one
/// cuBLAS, which is why each scenario is a process of its own; elsewhere these tests skip.
/// </summary>
public sealed class CublasByDriverVersionTests
{
    private static void Scenario(string name)
    {
        if (Environment.GetEnvironmentVariable("FAKE_CUBLAS_SCENARIO") != name)
            Assert.Skip($"runs only in build/test-driver-path.sh's FAKE_CUBLAS_SCENARIO={name} pass");
        StandInDriver.Require();
    }

    [Fact]
    public void A_CUDA_12_driver_loads_cublas_12_and_says_why()
    {
        Scenario("choose-12");
        using var device = DriverCudaDevice.Open(0);
        Assert.Equal(12080, device.Info.DriverVersion);
        Assert.Equal(120804, device.Info.CublasVersion);
        Assert.EndsWith("/libcublas.so.12", device.Info.CublasLibrary);
        Assert.StartsWith("libcublas.so.12 (cuBLAS 12.8.4, ", device.Info.CublasSelection);
        Assert.Contains("the newest cuBLAS a CUDA 12.8 driver runs; skipped cuBLAS 13 (needs a CUDA 13 driver; this one supports CUDA 12.8)", device.Info.CublasSelection);
        Assert.DoesNotContain(device.Info.LoadedLibraries, f => f.EndsWith("libcublas.so.13", StringComparison.Ordinal));
        Assert.Equal(device.Info.CublasSelection, Backend.QueryCuda().CublasSelection);

        using var backend = Backend.Default();
        Assert.IsType<CudaBackend>(backend);
        Assert.Contains($"cuBLAS 120804 from {device.Info.CublasLibrary}", backend.SelectionReason);
    }

    [Fact]
    public void A_CUDA_12_driver_with_only_cublas_13_makes_CUDA_unavailable_and_Default_takes_the_CPU_saying_why()
    {
        Scenario("none-usable");
        var unavailable = Assert.Throws<CudaUnavailableException>(() => Backend.Cuda());
        Assert.StartsWith("cuBLAS unusable: no cuBLAS this driver (CUDA 12.8) can run was found: it needs cuBLAS 12 or 11; tried libcublas.so.12, ", unavailable.Reason);
        Assert.Contains("skipped cuBLAS 13 (needs a CUDA 13 driver; this one supports CUDA 12.8)", unavailable.Reason);

        using var backend = Backend.Default();
        Assert.IsType<CpuBackend>(backend);
        Assert.Equal($"CUDA unavailable: {unavailable.Reason}; using CPU", backend.SelectionReason);
        var query = Backend.QueryCuda();
        Assert.False(query.IsAvailable);
        Assert.Equal(unavailable.Reason, query.Reason);
        Assert.Single(query.Devices); // the GPU is there; only cuBLAS is missing
    }
}
