using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The emulated device's warp rules (kernels/emu/cn_emulate.h): a collective proceeds only when every lane named in its
/// mask has arrived at the same collective with the same mask; otherwise the launch fails with CUDA_ERROR_LAUNCH_FAILED
/// naming the kernel, the warp and the lane. Also the races it must expose: a cp.async read before its wait_group, and a
/// shared-memory exchange without __syncwarp. None of these may run on a GPU (undefined behaviour there).
/// </summary>
public sealed class EmulatedWarpRulesTests() : WarpProbeSuite(EmulatorFixture.Open())
{
    private CudaException Fails(Action launch)
    {
        var e = Assert.Throws<CudaException>(launch);
        Assert.Equal("CUDA_ERROR_LAUNCH_FAILED", e.ErrorName);
        return e;
    }

    [Fact]
    public void A_lane_named_in_the_mask_that_skips_the_shuffle_fails_the_launch()
    {
        // Lane 0 goes straight to __syncthreads while lanes 1-31 shuffle with the full mask.
        var e = Fails(() => Shuffle(Distinct(32), 0, 1, 32, 0xfffffffeu, uint.MaxValue, uint.MaxValue, 32));
        Assert.Equal(KernelNames.ProbeShuffle, e.Kernel);
        Assert.Contains("lane 0 named in the mask never arrives (it waits at __syncthreads)", e.Message);
    }

    [Fact]
    public void An_exited_lane_named_in_the_mma_fails_the_launch()
    {
        var e = Fails(() => Mma(new float[128], new float[64], new float[128], 0x7fffffffu, 32));
        Assert.Equal(KernelNames.ProbeMmaTf32, e.Kernel);
        Assert.Contains("lane 31 named in the mask never arrives (it has exited)", e.Message);
    }

    [Fact]
    public void Lanes_calling_with_different_masks_diverge_and_fail_the_launch()
    {
        // Lanes 0-15 name the whole warp; lanes 16-31 only themselves.
        var e = Fails(() => Shuffle(Distinct(32), 0, 1, 32, uint.MaxValue, uint.MaxValue, 0xffff0000u, 32));
        Assert.Contains("diverged", e.Message);
        Assert.Contains("mask 0xffffffff", e.Message);
        Assert.Contains("mask 0xffff0000", e.Message);
    }

    [Fact]
    public void A_mask_without_the_calling_lane_fails_the_launch()
    {
        var e = Fails(() => Shuffle(Distinct(32), 0, 1, 32, 0x0000ffffu, 0x0000fffeu, 0x0000fffeu, 32));
        Assert.Contains("lane 0 of warp 0", e.Message);
        Assert.Contains("does not include the calling lane", e.Message);
    }

    [Fact]
    public void A_shuffle_reading_a_lane_outside_the_mask_fails_the_launch()
    {
        var e = Fails(() => Shuffle(Distinct(32), 0, 20, 32, 0x0000ffffu, 0x0000ffffu, 0x0000ffffu, 32));
        Assert.Contains("reads lane 20, which is not in the mask 0x0000ffff", e.Message);
    }

    [Fact]
    public void A_full_mask_in_a_partial_last_warp_fails_the_launch()
    {
        // 48 threads: warp 1 has lanes 0-15 only, so 0xffffffff names lanes that do not exist.
        var e = Fails(() => Shuffle(Distinct(48), 3, 1, 32, uint.MaxValue, uint.MaxValue, uint.MaxValue, 48));
        Assert.Contains("warp 1", e.Message);
        Assert.Contains("names lanes this warp does not have", e.Message);
    }

    [Fact]
    public void A_full_mask_in_a_partial_warp_is_fine_when_it_names_only_existing_lanes()
    {
        int[] input = Distinct(48);
        int[] got = Shuffle(input, 3, 1, 16, 0x0000ffffu, 0x0000ffffu, 0x0000ffffu, 48);
        Assert.Equal(WarpOracle.Shuffle(input, 3, 1, 16).Take(16), got.Take(16));
        Assert.Equal(WarpOracle.Shuffle(input, 3, 1, 16).Skip(32).Take(16), got.Skip(32).Take(16));
    }

    [Fact]
    public void A_shared_exchange_without_syncwarp_reads_poison()
    {
        // Lanes run one after another between collectives, so lane 0 reads lane 1's slot before lane 1 wrote it.
        int[] input = Distinct(32);
        int[] got = Vote(input, 4, uint.MaxValue, uint.MaxValue, 32);
        Assert.NotEqual(Enumerable.Range(0, 32).Select(t => input[t ^ 1]), got);
        Assert.Contains(-1, got); // shared memory is poisoned with 0xFF bytes
    }

    [Theory]
    [InlineData(1)] // never waits
    [InlineData(2)] // waits without committing: nothing is waited for
    [InlineData(3)] // waits for too few groups: the tile being read is still in flight
    public void Cp_async_data_read_before_its_wait_group_is_not_there(int mode)
    {
        const int threads = 32, tiles = 3;
        float[] src = Enumerable.Range(0, tiles * threads).Select(i => 1f + i).ToArray();
        float[] got = CpAsync(src, tiles, mode, threads);
        Assert.NotEqual(WarpOracle.CpAsyncPipeline(src, tiles, threads), got);
        Assert.Contains(got, float.IsNaN);
    }

    [Fact]
    public void Cp_async_outside_shared_memory_or_misaligned_is_rejected_by_the_probe_contract()
    {
        // The valid pipeline works on the emulator at any block size that is a multiple of the warp size.
        float[] src = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        Assert.Equal(WarpOracle.CpAsyncPipeline(src, 2, 96), CpAsync(src, 2, 0, 96));
    }
}
