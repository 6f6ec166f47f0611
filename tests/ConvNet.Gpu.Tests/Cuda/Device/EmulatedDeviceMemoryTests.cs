using Xunit;
using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

public sealed class EmulatedDeviceMemoryTests
{
    [Fact]
    public void Copies_and_memset_round_trip_and_new_memory_reads_as_NaN()
    {
        using var device = EmulatorFixture.Open();
        Assert.Equal("CUDA (emulated)", device.Info.Name);
        Assert.True(device.Info.IsEmulated);

        ulong p = device.Allocate(64 * 4);
        Assert.All(EmulatorFixture.Download(device, p, 64), v => Assert.True(float.IsNaN(v)));

        float[] data = Enumerable.Range(0, 64).Select(i => i * 0.25f - 3f).ToArray();
        device.CopyHostToDevice(p, MemoryMarshal.AsBytes(data.AsSpan()));
        ulong q = device.Allocate(64 * 4);
        device.CopyDeviceToDeviceAsync(q, p, 64 * 4);
        device.MemsetD32Async(q + 8 * 4, BitConverter.SingleToUInt32Bits(7f), 4); // elements 8..11
        float[] expected = (float[])data.Clone();
        for (int i = 8; i < 12; i++) expected[i] = 7f;
        Assert.Equal(expected, EmulatorFixture.Download(device, q, 64));
        device.Free(p);
        device.Free(q);
        Assert.Equal(0, device.BytesAllocated);
    }

    [Fact]
    public void Copies_outside_an_allocation_and_double_frees_are_reported_with_the_call()
    {
        using var device = EmulatorFixture.Open();
        ulong p = device.Allocate(16);
        var e = Assert.Throws<CudaException>(() => device.CopyHostToDevice(p + 8, new byte[12]));
        Assert.Equal("cuMemcpyHtoD_v2", e.Call);
        Assert.Equal("CUDA_ERROR_INVALID_VALUE", e.ErrorName);
        Assert.Contains("overrun the 16-byte allocation", e.Message);

        Assert.Throws<CudaException>(() => device.MemsetD32Async(p, 0, 5));
        device.Free(p);
        var read = Assert.Throws<CudaException>(() => device.CopyDeviceToHost(new byte[4], p));
        Assert.Contains("not inside any live allocation", read.Message);
        var free = Assert.Throws<CudaException>(() => device.Free(p));
        Assert.Equal("cuMemFree_v2", free.Call);
    }

    [Fact]
    public void Out_of_memory_names_requested_and_free_bytes_and_the_device_stays_usable()
    {
        using var device = EmulatorFixture.Open(memoryLimitBytes: 1 << 20);
        ulong big = device.Allocate(768 << 10);
        var oom = Assert.Throws<CudaOutOfMemoryException>(() => device.Allocate(512 << 10));
        Assert.Equal(512 << 10, oom.RequestedBytes);
        Assert.Equal(256 << 10, oom.FreeBytes);
        Assert.Equal(1 << 20, oom.TotalBytes);
        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", oom.ErrorName);
        Assert.Contains("524,288 bytes", oom.Message);
        Assert.Contains("262,144 bytes", oom.Message);

        ulong small = device.Allocate(64 << 10);
        Assert.Equal((1L << 20) - (768 << 10) - (64 << 10), device.MemoryInfo().Free);
        device.Free(big);
        device.Free(small);
    }

    [Fact]
    public void Backend_on_a_capped_emulated_device_throws_out_of_memory_then_keeps_working()
    {
        if (Backends.Cuda.Emulation.EmulatedCudaDevice.UnavailableReason() is { } reason) Assert.Skip(reason);
        using var backend = Backend.CudaEmulated(new CudaBackendOptions(), memoryLimitBytes: 4 << 20);
        Assert.Equal("CUDA (emulated)", backend.Name);
        using var fits = backend.Allocate(TensorShape.Matrix(512, 1024)); // 2 MiB
        var oom = Assert.Throws<CudaOutOfMemoryException>(() => backend.Allocate(TensorShape.Matrix(1024, 1024))); // 4 MiB
        Assert.True(oom.RequestedBytes >= 4 << 20);
        using var small = backend.Allocate(TensorShape.Vector(16));
        backend.Fill(small, 2.5f);
        var host = new float[16];
        backend.Download(small, host);
        Assert.All(host, v => Assert.Equal(2.5f, v));
    }

    [Fact]
    public void Events_measure_non_negative_elapsed_time()
    {
        using var device = EmulatorFixture.Open();
        using var start = device.CreateEvent();
        using var end = device.CreateEvent();
        start.Record();
        ulong p = device.Allocate(1 << 16);
        device.MemsetD32Async(p, 0, 1 << 14);
        end.Record();
        Assert.True(CudaEvent.ElapsedMilliseconds(start, end) >= 0f);
        device.Free(p);
    }
}
