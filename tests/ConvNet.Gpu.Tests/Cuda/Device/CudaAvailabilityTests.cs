using Xunit;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>Library resolution and the "why not CUDA" reporting, checked on machines without a GPU driver.</summary>
public sealed class CudaAvailabilityTests
{
    private static void SkipWhenDriverPresent()
    {
        if (NativeLibraries.Load(NativeLibraries.Cuda).Loaded) Assert.Skip("libcuda is installed here; this test is about its absence");
    }

    [Fact]
    public void Resolving_a_missing_library_lists_every_name_tried()
    {
        var result = NativeLibraries.TryCandidates(["libconvnet_no_such_lib.so.9", "/nonexistent/dir/libconvnet_no_such_lib.so"]);
        Assert.False(result.Loaded);
        Assert.Equal("libx not found (tried libconvnet_no_such_lib.so.9, /nonexistent/dir/libconvnet_no_such_lib.so)", result.Describe("libx"));
    }

    [Fact]
    public void Driver_candidates_are_the_versioned_name_then_the_development_name() =>
        Assert.Equal(["libcuda.so.1", "libcuda.so"], NativeLibraries.Candidates(NativeLibraries.Cuda));

    [Fact]
    public void Cuda_without_a_driver_throws_unavailable_with_the_names_tried()
    {
        SkipWhenDriverPresent();
        var e = Assert.Throws<CudaUnavailableException>(() => Backend.Cuda());
        Assert.Equal("libcuda.so.1 not found (tried libcuda.so.1, libcuda.so)", e.Reason);
        Assert.StartsWith("CUDA is unavailable: libcuda.so.1 not found", e.Message);
    }

    [Fact]
    public void Default_picks_the_CPU_and_says_why()
    {
        SkipWhenDriverPresent();
        using var backend = Backend.Default();
        Assert.IsType<CpuBackend>(backend);
        Assert.Equal("CUDA unavailable: libcuda.so.1 not found (tried libcuda.so.1, libcuda.so); using CPU", backend.SelectionReason);
    }

    [Fact]
    public void Query_reports_the_reason_no_devices_and_the_emulator_state()
    {
        SkipWhenDriverPresent();
        var availability = Backend.QueryCuda();
        Assert.False(availability.IsAvailable);
        Assert.Equal("libcuda.so.1 not found (tried libcuda.so.1, libcuda.so)", availability.Reason);
        Assert.Empty(availability.Devices);
        Assert.Empty(Backend.ListCudaDevices());
        Assert.Contains("CUDA: unavailable: libcuda.so.1 not found", availability.ToString());
        Assert.Equal(Backends.Cuda.Emulation.EmulatedCudaDevice.UnavailableReason(), availability.EmulatorReason);
    }

    [Theory]
    [InlineData(6, 0, 9000)]
    [InlineData(6, 4, 10010)]
    [InlineData(7, 8, 11080)]
    [InlineData(8, 5, 12050)]
    [InlineData(8, 7, 12080)]
    [InlineData(9, 0, 13000)]
    public void Ptx_isa_maps_to_the_CUDA_release_that_introduced_it(int major, int minor, int driver) =>
        Assert.Equal(driver, EmbeddedPtx.RequiredDriverFor(major, minor));

    [Fact]
    public void A_driver_older_than_the_PTX_is_reported_as_such()
    {
        var ptx = EmbeddedPtx.Parse("ConvNet.Gpu.Kernels.x.ptx", "//\n.version 7.8\n.target sm_70\n\0"u8.ToArray());
        Assert.Equal("7.8", ptx.Isa);
        string? reason = DriverProbe.CheckPtxAgainstDriver([ptx], driverVersion: 11020);
        Assert.Equal("driver too old for the PTX: ConvNet.Gpu.Kernels.x.ptx is PTX ISA 7.8, which needs a driver for CUDA 11.8 or newer, "
                     + "but this driver supports CUDA 11.2; update the NVIDIA driver", reason);
        Assert.Null(DriverProbe.CheckPtxAgainstDriver([ptx], driverVersion: 13000));
    }

    [Fact]
    public void CudaException_message_names_call_kernel_error_name_and_string()
    {
        var e = new CudaException("cuLaunchKernel", "cn_im2col", 700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered");
        Assert.Equal("cuLaunchKernel for kernel 'cn_im2col' failed: CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered", e.Message);
    }
}
