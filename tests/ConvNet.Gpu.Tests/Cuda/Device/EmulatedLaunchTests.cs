using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The emulator's launch checks, exercised through a real shipped kernel (cn_fill: y[i] = v for i in [0, n),
/// signature (GPTR(float) y, long long n, float v)).
/// </summary>
public sealed class EmulatedLaunchTests
{
    private const string Fill = "cn_fill";

    [Theory]
    [InlineData(1, 32)]    // one block: the grid-stride loop does all the work
    [InlineData(3, 64)]    // partial coverage per pass
    [InlineData(40, 128)]  // more threads than elements
    public void Fill_covers_exactly_n_elements_at_any_launch_geometry(int gridBlocks, int blockThreads)
    {
        using var device = EmulatorFixture.Open();
        const int n = 1000;
        ulong y = device.Allocate(1024 * 4); // the 24 elements past n must stay untouched (NaN)
        var args = new KernelArgs();
        args.AddPointer(y);
        args.Add((long)n);
        args.Add(3.5f);
        device.Launch(device.GetKernel(Fill), gridBlocks, blockThreads, 0, args);
        float[] result = EmulatorFixture.Download(device, y, 1024);
        Assert.All(result[..n], v => Assert.Equal(3.5f, v));
        Assert.All(result[n..], v => Assert.True(float.IsNaN(v)));
        device.Free(y);
    }

    [Fact]
    public void Out_of_bounds_write_fails_the_launch_naming_kernel_thread_offset_and_allocation_size()
    {
        using var device = EmulatorFixture.Open();
        ulong y = device.Allocate(100 * 4);
        var args = new KernelArgs();
        args.AddPointer(y);
        args.Add(101L); // one element too many
        args.Add(1f);
        var e = Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 1, 128, 0, args));
        Assert.Equal("cuLaunchKernel", e.Call);
        Assert.Equal(Fill, e.Kernel);
        Assert.Equal("CUDA_ERROR_ILLEGAL_ADDRESS", e.ErrorName);
        Assert.Contains("byte offset 400 of a 400-byte allocation", e.Message);
        Assert.Contains("thread (100,0,0)", e.Message);
        Assert.Contains("block (0,0,0)", e.Message);

        // In-bounds launches still work afterwards (the emulator has no sticky errors).
        var ok = new KernelArgs();
        ok.AddPointer(y);
        ok.Add(100L);
        ok.Add(1f);
        device.Launch(device.GetKernel(Fill), 1, 128, 0, ok);
        device.Free(y);
    }

    [Fact]
    public void Freed_memory_passed_to_a_kernel_is_rejected()
    {
        using var device = EmulatorFixture.Open();
        ulong y = device.Allocate(64);
        device.Free(y);
        var args = new KernelArgs();
        args.AddPointer(y);
        args.Add(16L);
        args.Add(0f);
        var e = Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 1, 32, 0, args));
        Assert.Contains("argument 0", e.Message);
        Assert.Contains("not inside any live device allocation", e.Message);
    }

    [Fact]
    public void Argument_count_mismatch_names_the_kernel_and_expected_versus_passed()
    {
        using var device = EmulatorFixture.Open();
        ulong y = device.Allocate(64);
        var args = new KernelArgs();
        args.AddPointer(y);
        args.Add(16L);
        var e = Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 1, 32, 0, args));
        Assert.Equal(Fill, e.Kernel);
        Assert.Contains("takes 3 argument(s) (device pointer, long long, float) but the launch passed 2", e.Message);
        device.Free(y);
    }

    [Theory]
    [InlineData(0)] // int where the kernel takes long long (a 4- vs 8-byte size mismatch)
    [InlineData(1)] // an int where the kernel takes float (same size, wrong type)
    [InlineData(2)] // a device pointer passed with Add(ulong) instead of AddPointer
    public void Argument_type_and_size_mismatches_are_errors_not_silent(int variant)
    {
        using var device = EmulatorFixture.Open();
        ulong y = device.Allocate(64);
        var args = new KernelArgs();
        if (variant == 2) args.Add(y); else args.AddPointer(y);
        if (variant == 0) args.Add(16); else args.Add(16L);
        if (variant == 1) args.Add(1); else args.Add(1f);
        var e = Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 1, 32, 0, args));
        Assert.Equal("CUDA_ERROR_INVALID_VALUE", e.ErrorName);
        string expected = variant switch
        {
            0 => "argument 1 is long long but the launch passed int",
            1 => "argument 2 is float but the launch passed int",
            _ => "argument 0 is device pointer but the launch passed unsigned long long",
        };
        Assert.Contains(expected, e.Message);
        device.Free(y);
    }

    [Fact]
    public void Unknown_kernels_and_impossible_launch_geometries_are_reported()
    {
        using var device = EmulatorFixture.Open();
        var missing = Assert.Throws<CudaException>(() => device.GetKernel("cn_no_such_kernel"));
        Assert.Equal("CUDA_ERROR_NOT_FOUND", missing.ErrorName);
        Assert.Equal("cn_no_such_kernel", missing.Kernel);

        var args = new KernelArgs();
        args.AddPointer(0);
        args.Add(0L);
        args.Add(0f);
        var bad = Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 1, 2048, 0, args));
        Assert.Contains("block (2048,1,1)", bad.Message);
        Assert.Throws<CudaException>(() => device.Launch(device.GetKernel(Fill), 0, 32, 0, args));
        device.Launch(device.GetKernel(Fill), 1, 32, 0, args); // n = 0 with a null pointer touches nothing
    }

    [Fact]
    public void Every_kernel_in_the_sources_is_registered_in_the_emulator()
    {
        using var device = EmulatorFixture.Open();
        var registered = Backends.Cuda.Emulation.EmulatedCudaDevice.KernelNames().ToHashSet();
        var declared = KernelSources.DeclaredKernelNames();
        Assert.NotEmpty(declared);
        Assert.Empty(declared.Except(registered));
        Assert.Equal(declared.Count, registered.Count);
    }
}
