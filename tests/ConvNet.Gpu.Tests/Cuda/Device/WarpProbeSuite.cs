using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The warp-level and sm_80 wrappers (kernels/cn_warp.cuh, kernels/cn_sm80.cuh) through the probes of
/// kernels/device_probe.cu, against the CUDA semantics computed here independently (<see cref="WarpOracle"/>): on the
/// emulated device (CI) and on a GPU, so the emulator and the inline PTX answer alike. Valid uses only; the emulator's
/// rejection of invalid ones is in <see cref="EmulatedWarpRulesTests"/>.
/// </summary>
public abstract class WarpProbeSuite : IDisposable
{
    private readonly ICudaDevice _device;
    private readonly List<ulong> _allocations = [];

    private protected WarpProbeSuite(ICudaDevice device) => _device = device;

    private protected ICudaDevice Device => _device;

    public void Dispose()
    {
        foreach (ulong p in _allocations) _device.Free(p);
        _device.Dispose();
    }

    /// <summary>Whether the device runs the sm_80 kernels (mma.sync, cp.async, cvt.rna.tf32).</summary>
    private bool HasSm80 => _device.Info.PtxTarget >= 80;

    protected ulong Upload<T>(T[] values) where T : unmanaged
    {
        ulong p = _device.Allocate(Math.Max(1, values.Length) * (long)Marshal.SizeOf<T>());
        _allocations.Add(p);
        _device.CopyHostToDevice(p, MemoryMarshal.AsBytes(values.AsSpan()));
        return p;
    }

    protected T[] Download<T>(ulong pointer, int count) where T : unmanaged
    {
        var values = new T[count];
        _device.CopyDeviceToHost(MemoryMarshal.AsBytes(values.AsSpan()), pointer);
        return values;
    }

    /// <summary>Runs cn_probe_shfl over a block of <paramref name="threads"/> and returns out[].</summary>
    protected int[] Shuffle(int[] input, int op, int arg, int width, uint participants, uint mask, uint maskHigh, int threads)
    {
        ulong x = Upload(input), y = Upload(new int[threads]);
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(y); args.Add(op); args.Add(arg); args.Add(width);
        args.Add(unchecked((int)participants)); args.Add(unchecked((int)mask)); args.Add(unchecked((int)maskHigh));
        _device.Launch(_device.GetKernel(KernelNames.ProbeShuffle), 1, threads, 0, args);
        return Download<int>(y, threads);
    }

    /// <summary>Runs cn_probe_vote over a block of <paramref name="threads"/> and returns out[].</summary>
    protected int[] Vote(int[] input, int op, uint participants, uint mask, int threads)
    {
        ulong x = Upload(input), y = Upload(new int[threads]);
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(y); args.Add(op); args.Add(unchecked((int)participants)); args.Add(unchecked((int)mask));
        _device.Launch(_device.GetKernel(KernelNames.ProbeVote), 1, threads, 0, args);
        return Download<int>(y, threads);
    }

    /// <summary>Runs cn_probe_mma_tf32 (A 16x8, B 8x8 as k x n, C 16x8, all row-major) and returns D.</summary>
    protected float[] Mma(float[] a, float[] b, float[] c, uint participants, int threads)
    {
        ulong da = Upload(a), db = Upload(b), dc = Upload(c), dd = Upload(Enumerable.Repeat(float.NaN, 128).ToArray());
        var args = new KernelArgs();
        args.AddPointer(da); args.AddPointer(db); args.AddPointer(dc); args.AddPointer(dd); args.Add(unchecked((int)participants));
        _device.Launch(_device.GetKernel(KernelNames.ProbeMmaTf32), 1, threads, 0, args);
        return Download<float>(dd, 128);
    }

    /// <summary>Runs the cn_probe_cp_async pipeline and returns out[tiles * threads].</summary>
    protected float[] CpAsync(float[] source, int tiles, int mode, int threads)
    {
        ulong s = Upload(source), o = Upload(Enumerable.Repeat(-5f, tiles * threads).ToArray());
        var args = new KernelArgs();
        args.AddPointer(s); args.AddPointer(o); args.Add(source.Length); args.Add(tiles); args.Add(mode);
        _device.Launch(_device.GetKernel(KernelNames.ProbeCpAsync), 1, threads, 0, args);
        return Download<float>(o, tiles * threads);
    }

    protected static int[] Distinct(int n) => Enumerable.Range(0, n).Select(t => 3 + 7 * t).ToArray();

    public static TheoryData<int, int, int> ShuffleCases()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int width in new[] { 32, 16, 8, 4, 2, 1 })
        {
            foreach (int src in new[] { 0, 1, 5, 17, 31 }) data.Add(0, src, width);
            foreach (int delta in new[] { 0, 1, 3, 8, 16 }) { data.Add(1, delta, width); data.Add(2, delta, width); }
            foreach (int laneMask in new[] { 1, 2, 7, 16, 31 }) data.Add(3, laneMask, width);
        }
        return data;
    }

    [Theory, MemberData(nameof(ShuffleCases))]
    public void Shuffles_match_the_CUDA_semantics_for_every_mode_width_and_offset(int op, int arg, int width)
    {
        const int threads = 96; // three warps
        int[] input = Distinct(threads);
        int[] expected = WarpOracle.Shuffle(input, op, arg, width);
        Assert.Equal(expected, Shuffle(input, op, arg, width, uint.MaxValue, uint.MaxValue, uint.MaxValue, threads));
        Assert.Equal(expected, Shuffle(input, op + 4, arg, width, uint.MaxValue, uint.MaxValue, uint.MaxValue, threads)); // float form
    }

    [Fact]
    public void Two_half_warps_shuffle_independently_with_their_own_masks()
    {
        const int threads = 64;
        int[] input = Distinct(threads);
        // Each half-warp broadcasts its own lane 3 within width 16: lanes 0-15 get lane 3, lanes 16-31 get lane 19.
        int[] got = Shuffle(input, 0, 3, 16, uint.MaxValue, 0x0000ffffu, 0xffff0000u, threads);
        Assert.Equal(WarpOracle.Shuffle(input, 0, 3, 16), got);
    }

    [Fact]
    public void A_partial_mask_shuffles_only_its_lanes()
    {
        const int threads = 32;
        int[] input = Distinct(threads);
        int[] got = Shuffle(input, 2, 1, 8, 0x00ffff00u, 0x00ffff00u, 0x00ffff00u, threads);
        for (int lane = 0; lane < 32; lane++)
        {
            bool inside = lane is >= 8 and < 24;
            Assert.Equal(inside ? WarpOracle.Shuffle(input, 2, 1, 8)[lane] : -1, got[lane]);
        }
    }

    public static TheoryData<uint> VoteMasks => new(uint.MaxValue, 0x0000ffffu, 0xf0f0f0f0u, 0x00000001u, 0x80000000u);

    [Theory, MemberData(nameof(VoteMasks))]
    public void Ballot_any_and_all_see_exactly_the_lanes_of_the_mask(uint mask)
    {
        const int threads = 64;
        var rng = new Random(unchecked((int)mask));
        foreach (int[] predicate in new[]
                 {
                     Enumerable.Range(0, threads).Select(_ => rng.Next(2)).ToArray(),
                     Enumerable.Repeat(1, threads).ToArray(),
                     Enumerable.Repeat(0, threads).ToArray(),
                 })
        {
            int[] ballot = Vote(predicate, 0, mask, mask, threads), any = Vote(predicate, 1, mask, mask, threads),
                all = Vote(predicate, 2, mask, mask, threads);
            for (int t = 0; t < threads; t++)
            {
                int lane = t % 32;
                if ((mask >> lane & 1) == 0)
                {
                    Assert.Equal(-1, ballot[t]);
                    continue;
                }
                uint expected = WarpOracle.Ballot(predicate, t / 32, mask);
                Assert.Equal(unchecked((int)expected), ballot[t]);
                Assert.Equal(expected != 0 ? 1 : 0, any[t]);
                Assert.Equal(expected == mask ? 1 : 0, all[t]);
            }
        }
    }

    [Fact]
    public void Syncwarp_makes_a_lanes_shared_write_visible_to_its_neighbour()
    {
        const int threads = 64;
        int[] input = Distinct(threads);
        int[] got = Vote(input, 3, uint.MaxValue, uint.MaxValue, threads);
        Assert.Equal(Enumerable.Range(0, threads).Select(t => input[t ^ 1]), got);
    }

    [Fact]
    public void Warp_sum_gives_every_lane_the_butterfly_total()
    {
        const int threads = 64;
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, threads).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        ulong dx = Upload(x), dy = Upload(new float[threads]);
        var args = new KernelArgs();
        args.AddPointer(dx); args.AddPointer(dy);
        _device.Launch(_device.GetKernel(KernelNames.ProbeWarpSum), 1, threads, 0, args);
        float[] y = Download<float>(dy, threads);
        for (int t = 0; t < threads; t++) Assert.Equal(WarpOracle.ButterflySum(x, t / 32), y[t]);
        double exact = x[..32].Sum(v => (double)v);
        Assert.InRange(Math.Abs(y[0] - exact), 0, 1e-5);
    }

    [Fact]
    public void Tf32_conversion_rounds_to_nearest_ties_away_from_zero()
    {
        if (!HasSm80) Assert.Skip($"{_device.Info.Name} runs the sm_{_device.Info.PtxTarget} kernels; cvt.rna.tf32 needs sm_80");
        var values = new List<float> { 0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, -float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, 3.4e38f, 1.00048828125f /* 1 + 2^-11: a tie */, -1.00048828125f,
            1.0004882f, 1.00146484375f /* 1 + 3 * 2^-11: a tie above an odd TF32 */, BitConverter.Int32BitsToSingle(0x00001000) };
        var rng = new Random(11);
        for (int i = 0; i < 500; i++) values.Add((float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-140, 128))));
        for (int i = 0; i < 100; i++) values.Add(BitConverter.Int32BitsToSingle(rng.Next() & ~0x1fff | 0x1000)); // exact ties
        float[] x = values.ToArray();
        ulong dx = Upload(x), dy = Upload(new int[x.Length]);
        var args = new KernelArgs();
        args.AddPointer(dx); args.AddPointer(dy); args.Add((long)x.Length);
        _device.Launch(_device.GetKernel(KernelNames.ProbeTf32), 2, 64, 0, args);
        int[] bits = Download<int>(dy, x.Length);
        for (int i = 0; i < x.Length; i++)
            Assert.True(float.IsNaN(x[i]) ? float.IsNaN(BitConverter.Int32BitsToSingle(bits[i])) : WarpOracle.RoundToTf32(x[i]) == bits[i],
                $"cvt.rna.tf32.f32({x[i]:R} = 0x{BitConverter.SingleToInt32Bits(x[i]):x8}) gave 0x{bits[i]:x8}, expected 0x{WarpOracle.RoundToTf32(x[i]):x8}");
    }

    [Fact]
    public void Mma_m16n8k8_tf32_multiplies_with_the_PTX_fragment_layout()
    {
        if (!HasSm80) Assert.Skip($"{_device.Info.Name} runs the sm_{_device.Info.PtxTarget} kernels; mma.sync tf32 needs sm_80");
        // Small integers: every product and sum is exact, so D must equal the integer product exactly; a fragment
        // element in the wrong place changes some entry of D.
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, 128).Select(_ => (float)rng.Next(-9, 10)).ToArray();
        float[] b = Enumerable.Range(0, 64).Select(_ => (float)rng.Next(-9, 10)).ToArray();
        float[] c = Enumerable.Range(0, 128).Select(_ => (float)rng.Next(-50, 51)).ToArray();
        Assert.Equal(WarpOracle.MatMul(a, b, c, tf32: false), Mma(a, b, c, uint.MaxValue, 64));
    }

    [Fact]
    public void Mma_rounds_its_operands_to_tf32_and_accumulates_in_fp32()
    {
        if (!HasSm80) Assert.Skip($"{_device.Info.Name} runs the sm_{_device.Info.PtxTarget} kernels; mma.sync tf32 needs sm_80");
        var rng = new Random(4);
        float[] a = Enumerable.Range(0, 128).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] b = Enumerable.Range(0, 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] c = Enumerable.Range(0, 128).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] d = Mma(a, b, c, uint.MaxValue, 32), tf32 = WarpOracle.MatMul(a, b, c, tf32: true), fp32 = WarpOracle.MatMul(a, b, c, tf32: false);
        for (int i = 0; i < 128; i++) Assert.InRange(Math.Abs(d[i] - tf32[i]), 0, 2e-6);
        // The operands really were rounded: somewhere the exact FP32 product differs by more than accumulation noise.
        Assert.Contains(Enumerable.Range(0, 128), i => Math.Abs(fp32[i] - tf32[i]) > 1e-4);
    }

    [Fact]
    public void Cp_async_double_buffered_pipeline_copies_and_zero_fills()
    {
        if (!HasSm80) Assert.Skip($"{_device.Info.Name} runs the sm_{_device.Info.PtxTarget} kernels; cp.async needs sm_80");
        const int threads = 64, tiles = 4;
        float[] src = Enumerable.Range(0, 3 * threads + 20).Select(i => 1f + i).ToArray();
        Assert.Equal(WarpOracle.CpAsyncPipeline(src, tiles, threads), CpAsync(src, tiles, mode: 0, threads));
    }
}

/// <summary>The probes on the emulated device (sm_80: every probe runs).</summary>
public sealed class WarpProbes_Emulated() : WarpProbeSuite(EmulatorFixture.Open());

/// <summary>The probes on a GPU through the driver (skipped, with the reason, when there is none).</summary>
public sealed class WarpProbes_Gpu() : WarpProbeSuite(OpenGpu())
{
    private static DriverCudaDevice OpenGpu()
    {
        var availability = Backend.QueryCuda();
        if (!availability.IsAvailable) Assert.Skip($"CUDA GPU unavailable: {availability.Reason}");
        return DriverCudaDevice.Open(0);
    }
}
