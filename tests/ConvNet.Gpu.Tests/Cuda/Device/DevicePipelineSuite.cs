using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The device contract's pipeline half, run once per <see cref="ICudaDevice"/>: page-locked host memory, asynchronous
/// copies on both streams, events that order the streams, and CUDA Graph capture and replay (what is recorded, what a
/// replay reads, what capture forbids). The emulated device runs it in every test run; the driver device runs it on a
/// GPU and, without one, against the stand-in libcuda of build/test-driver-path.sh.
/// </summary>
public abstract class DevicePipelineSuite
{
    /// <summary>Opens a fresh device (or skips the test with the reason).</summary>
    private protected abstract ICudaDevice Open();

    private static unsafe void Write(nint pinned, ReadOnlySpan<float> values) => values.CopyTo(new Span<float>((void*)pinned, values.Length));

    private static unsafe float[] Read(nint pinned, int count) => new ReadOnlySpan<float>((void*)pinned, count).ToArray();

    private static float[] Download(ICudaDevice device, ulong pointer, int count)
    {
        var host = new float[count];
        device.CopyDeviceToHost(MemoryMarshal.AsBytes(host.AsSpan()), pointer);
        return host;
    }

    private static void Fill(ICudaDevice device, ulong y, long n, float value)
    {
        var args = new KernelArgs();
        args.AddPointer(y); args.Add(n); args.Add(value);
        device.Launch(device.GetKernel("cn_fill"), 2, 32, 0, args);
    }

    private static void Scale(ICudaDevice device, ulong x, ulong y, long n, float alpha)
    {
        var args = new KernelArgs();
        args.AddPointer(x); args.AddPointer(y); args.Add(n); args.Add(alpha);
        device.Launch(device.GetKernel("cn_scale"), 2, 32, 0, args);
    }

    [Fact]
    public void Pinned_memory_round_trips_through_asynchronous_copies_on_both_streams()
    {
        using var device = Open();
        const int n = 100;
        nint staging = device.AllocatePinned(n * 4);
        nint back = device.AllocatePinned(n * 4);
        ulong d = device.Allocate(n * 4);
        var values = Enumerable.Range(0, n).Select(i => i * 0.5f - 7f).ToArray();
        Write(staging, values);
        using var uploaded = device.CreateEvent(timing: false);
        device.CopyHostToDeviceAsync(d, staging, n * 4, CudaStream.Copy);
        uploaded.Record(CudaStream.Copy);
        device.StreamWaitEvent(CudaStream.Compute, uploaded);      // compute reads d only after the upload
        Scale(device, d, d, n, 2f);
        device.CopyDeviceToHostAsync(back, d, n * 4, CudaStream.Compute);
        using var done = device.CreateEvent(timing: false);
        done.Record(CudaStream.Compute);
        done.Synchronize();
        Assert.True(done.IsComplete);
        Assert.Equal(values.Select(v => 2f * v), Read(back, n));
        device.Free(d);
        device.FreePinned(staging);
        device.FreePinned(back);
    }

    [Fact]
    public void A_captured_graph_runs_nothing_until_launched_and_then_replays_every_node_in_order()
    {
        using var device = Open();
        const int n = 64;
        ulong x = device.Allocate(n * 4), y = device.Allocate(n * 4), c = device.Allocate(4 * 4);
        ulong a = device.Allocate(6 * 4), b = device.Allocate(6 * 4);
        device.CopyHostToDevice(a, MemoryMarshal.AsBytes(new float[] { 1, 4, 2, 5, 3, 6 }.AsSpan()));
        device.CopyHostToDevice(b, MemoryMarshal.AsBytes(new float[] { 1, 0, 1, 0, 1, 1 }.AsSpan()));
        device.MemsetD32Async(y, BitConverter.SingleToUInt32Bits(-1f), n);
        device.MemsetD32Async(c, 0, 4);

        device.BeginCapture();
        Assert.True(device.IsCapturing);
        device.MemsetD32Async(x, BitConverter.SingleToUInt32Bits(3f), n); // x = 3
        Scale(device, x, y, n, 2f);                                            // y = 6
        device.CopyDeviceToDeviceAsync(x, y, 8 * 4);                           // x[0..8) = 6
        device.Sgemm(false, false, 2, 2, 3, 1f, a, 2, b, 3, 0f, c, 2);        // C = [4 10; 5 11] (column-major)
        var graph = device.EndCapture();
        Assert.False(device.IsCapturing);
        Assert.Equal(4, graph.NodeCount);
        Assert.All(Download(device, y, n), v => Assert.Equal(-1f, v));          // nothing ran during the capture
        Assert.Equal([0f, 0f, 0f, 0f], Download(device, c, 4));

        device.LaunchGraph(graph);
        device.Synchronize();
        Assert.All(Download(device, y, n), v => Assert.Equal(6f, v));
        var xs = Download(device, x, n);
        Assert.All(xs[..8], v => Assert.Equal(6f, v));
        Assert.All(xs[8..], v => Assert.Equal(3f, v));
        Assert.Equal([4f, 10f, 5f, 11f], Download(device, c, 4));

        // A replay re-runs the same nodes: the memset restores x, so y is 6 again after we clobber it.
        device.MemsetD32Async(y, 0, n);
        device.LaunchGraph(graph);
        Assert.All(Download(device, y, n), v => Assert.Equal(6f, v));
        graph.Dispose();
        foreach (ulong p in new[] { x, y, c, a, b }) device.Free(p);
    }

    [Fact]
    public void Replays_read_device_memory_at_replay_time_while_scalar_arguments_are_baked_in()
    {
        using var device = Open();
        const int n = 40;
        ulong x = device.Allocate(n * 4), y = device.Allocate(n * 4);
        nint staging = device.AllocatePinned(n * 4);
        float alpha = 0.5f;
        device.BeginCapture();
        Scale(device, x, y, n, alpha);
        var graph = device.EndCapture();
        alpha = 100f; // changing the host variable after the capture changes nothing

        for (int step = 1; step <= 3; step++)
        {
            // The step's input goes to device memory before the replay: the pattern for step-dependent values.
            Write(staging, Enumerable.Repeat((float)step, n).ToArray());
            device.CopyHostToDeviceAsync(x, staging, n * 4, CudaStream.Compute);
            device.LaunchGraph(graph);
            Assert.All(Download(device, y, n), v => Assert.Equal(0.5f * step, v));
        }
        Assert.Equal(100f, alpha);
        graph.Dispose();
        device.Free(x);
        device.Free(y);
        device.FreePinned(staging);
    }

    [Fact]
    public void Allocating_or_blocking_during_a_capture_fails_and_invalidates_the_capture()
    {
        using var device = Open();
        ulong y = device.Allocate(256);
        device.BeginCapture();
        Fill(device, y, 64, 1f);
        var refused = Assert.Throws<CudaException>(() => device.Allocate(1024));
        Assert.Equal("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", refused.ErrorName);
        // The emulator and the stand-in driver invalidate the capture here; the CUDA documentation leaves open whether a
        // refused cuMemAlloc does, so a GPU may still hand back the graph.
        try
        {
            device.EndCapture().Dispose();
            Assert.False(device.IsEmulated);
        }
        catch (CudaException ended)
        {
            Assert.Equal("CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", ended.ErrorName);
        }
        Assert.False(device.IsCapturing);

        device.BeginCapture();
        var sync = Assert.Throws<CudaException>(device.Synchronize);
        Assert.Equal("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", sync.ErrorName);
        Assert.Throws<CudaException>(() => device.EndCapture());

        // The device is fine afterwards: eager work and new captures still run.
        Fill(device, y, 64, 2f);
        Assert.All(Download(device, y, 64), v => Assert.Equal(2f, v));
        device.BeginCapture();
        Fill(device, y, 64, 5f);
        using var graph = device.EndCapture();
        device.LaunchGraph(graph);
        Assert.All(Download(device, y, 64), v => Assert.Equal(5f, v));
        device.Free(y);
    }

    [Fact]
    public void Uploads_on_the_copy_stream_run_during_a_capture_of_the_compute_stream()
    {
        using var device = Open();
        const int n = 16;
        ulong d = device.Allocate(n * 4), y = device.Allocate(n * 4);
        nint staging = device.AllocatePinned(n * 4);
        Write(staging, Enumerable.Repeat(9f, n).ToArray());
        device.BeginCapture();
        device.CopyHostToDeviceAsync(d, staging, n * 4, CudaStream.Copy); // not part of the graph
        Scale(device, d, y, n, 1f);
        using var graph = device.EndCapture();
        Assert.Equal(1, graph.NodeCount);
        device.Synchronize();
        Assert.All(Download(device, d, n), v => Assert.Equal(9f, v));
        device.LaunchGraph(graph);
        Assert.All(Download(device, y, n), v => Assert.Equal(9f, v));
        device.Free(d);
        device.Free(y);
        device.FreePinned(staging);
    }
}

/// <summary>The pipeline contract on the emulated device.</summary>
public sealed class DevicePipeline_Emulated : DevicePipelineSuite
{
    private protected override ICudaDevice Open() => EmulatorFixture.Open();

    [Fact]
    public void A_replay_that_touches_freed_memory_fails_naming_the_kernel()
    {
        using var device = EmulatorFixture.Open();
        ulong y = device.Allocate(64 * 4);
        device.BeginCapture();
        var args = new KernelArgs();
        args.AddPointer(y); args.Add(64L); args.Add(1f);
        device.Launch(device.GetKernel("cn_fill"), 1, 32, 0, args);
        using var graph = device.EndCapture();
        device.Free(y);
        var e = Assert.Throws<CudaException>(() => device.LaunchGraph(graph));
        Assert.Equal("cn_fill", e.Kernel);
        Assert.Equal("CUDA_ERROR_ILLEGAL_ADDRESS", e.ErrorName);
    }

    [Fact]
    public void Asynchronous_copies_check_the_pinned_range()
    {
        using var device = EmulatorFixture.Open();
        ulong d = device.Allocate(64);
        nint pinned = device.AllocatePinned(32);
        var e = Assert.Throws<CudaException>(() => device.CopyHostToDeviceAsync(d, pinned, 64, CudaStream.Copy));
        Assert.Equal("cuMemcpyHtoDAsync_v2", e.Call);
        Assert.Contains("not inside one live pinned allocation", e.Message);
        device.FreePinned(pinned);
        Assert.Throws<CudaException>(() => device.FreePinned(pinned));
        device.Free(d);
    }
}

/// <summary>The pipeline contract through the driver bindings (GPU, or the stand-in libcuda of build/test-driver-path.sh).</summary>
public sealed class DevicePipeline_Driver : DevicePipelineSuite
{
    private protected override ICudaDevice Open()
    {
        var availability = Backend.QueryCuda();
        if (!availability.IsAvailable) Assert.Skip($"CUDA GPU unavailable: {availability.Reason}");
        return DriverCudaDevice.Open(0);
    }
}
