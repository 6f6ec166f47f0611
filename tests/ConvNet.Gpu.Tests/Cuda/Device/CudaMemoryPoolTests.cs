using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

public sealed class CudaMemoryPoolTests
{
    [Theory]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, (1 << 20) + (1 << 18))] // four classes per octave above 1 MiB
    [InlineData(3 << 20, 3 << 20)]
    [InlineData((3 << 20) + 1, (3 << 20) + (1 << 19))]
    public void SizeClass_rounds_up_to_512_bytes_then_quarter_octaves(long bytes, long expected)
    {
        Assert.Equal(expected, CudaMemoryPool.SizeClass(bytes));
        Assert.True(CudaMemoryPool.SizeClass(bytes) < bytes * 1.26 + 512);
    }

    [Fact]
    public void Returned_blocks_are_reused_for_the_same_size_class_and_stats_track_use_peak_and_cache()
    {
        var device = new FakeCudaDevice(1 << 30);
        using var pool = new CudaMemoryPool(device, enabled: true);

        ulong a = pool.Rent(1000);   // class 1024
        ulong b = pool.Rent(3000);   // class 3072
        Assert.Equal(new MemoryStats(4096, 4096, 0, 2), pool.Stats);
        pool.Return(a, 1000);
        Assert.Equal(new MemoryStats(3072, 4096, 1024, 1), pool.Stats);

        ulong c = pool.Rent(600);    // class 1024 again: the cached block, no device call
        Assert.Equal(a, c);
        Assert.Equal(2, device.AllocateCalls);
        Assert.Equal(1, pool.CacheHitCount);
        Assert.Equal(new MemoryStats(4096, 4096, 0, 2), pool.Stats);

        pool.Return(b, 3000);
        pool.Return(c, 600);
        Assert.Equal(new MemoryStats(0, 4096, 4096, 0), pool.Stats);
        pool.Trim();
        Assert.Equal(new MemoryStats(0, 4096, 0, 0), pool.Stats);
        Assert.Equal(2, device.FreeCalls);
        Assert.Equal(0, device.BytesAllocated);
    }

    [Fact]
    public void Disabled_pool_allocates_and_frees_every_block_exactly()
    {
        var device = new FakeCudaDevice(1 << 30);
        using var pool = new CudaMemoryPool(device, enabled: false);
        ulong a = pool.Rent(1000);
        Assert.Equal(1000, device.BytesAllocated);
        pool.Return(a, 1000);
        ulong b = pool.Rent(1000);
        Assert.Equal(2, device.AllocateCalls);
        Assert.Equal(1, device.FreeCalls);
        Assert.Equal(new MemoryStats(1000, 1000, 0, 1), pool.Stats);
        pool.Return(b, 1000);
    }

    [Fact]
    public void Out_of_memory_trims_the_cache_and_retries_once()
    {
        var device = new FakeCudaDevice(8192);
        using var pool = new CudaMemoryPool(device, enabled: true);
        ulong a = pool.Rent(4096);
        ulong b = pool.Rent(2048);
        pool.Return(a, 4096);                 // 4096 cached, 2048 in use, 6144 held on the device
        ulong c = pool.Rent(6000);            // class 6144 does not fit next to 6144 held: trim, then retry succeeds
        Assert.Equal(new MemoryStats(2048 + 6144, 2048 + 6144, 0, 2), pool.Stats);

        var oom = Assert.Throws<CudaOutOfMemoryException>(() => pool.Rent(4096)); // nothing cached to trim
        Assert.Equal(4096, oom.RequestedBytes);
        Assert.Equal(0, oom.FreeBytes);
        pool.Return(b, 2048);
        pool.Return(c, 6000);
        Assert.NotEqual(0UL, pool.Rent(8000)); // the pool is still usable after the failure
    }

    [Fact]
    public void Double_return_and_wrong_size_are_errors_and_zero_bytes_is_the_null_block()
    {
        using var pool = new CudaMemoryPool(new FakeCudaDevice(1 << 20), enabled: true);
        Assert.Equal(0UL, pool.Rent(0));
        pool.Return(0, 0);
        ulong a = pool.Rent(100);
        Assert.Throws<InvalidOperationException>(() => pool.Return(a, 5000));
        pool.Return(a, 100);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Return(a, 100));
        Assert.Contains("double free", e.Message);
    }
}
