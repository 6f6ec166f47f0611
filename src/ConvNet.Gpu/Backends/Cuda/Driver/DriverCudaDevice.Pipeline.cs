using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

// The parts of the device that keep the GPU fed without the host waiting: page-locked host memory, asynchronous copies
// on either stream, events that order the streams, and CUDA Graph capture (thread-local mode, so a forbidden call on
// this thread fails at once and invalidates the capture) and replay.
internal sealed unsafe partial class DriverCudaDevice
{
    private bool _capturing;

    private nint StreamHandle(CudaStream stream) => stream switch
    {
        CudaStream.Compute => _stream,
        CudaStream.Copy => _copyStream,
        _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, "unknown stream"),
    };

    /// <inheritdoc/>
    public nint AllocatePinned(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Enter();
        int result = CudaDriver.cuMemHostAlloc(out nint pointer, (nuint)bytes, CudaDriver.MemHostAllocDefault);
        if (result == CuResult.OutOfMemory)
            throw new CudaOutOfMemoryException("cuMemHostAlloc", result, CudaCheck.ErrorName(result), bytes, 0, 0);
        Check(result, "cuMemHostAlloc");
        return pointer;
    }

    /// <inheritdoc/>
    public void FreePinned(nint pointer)
    {
        if (pointer == 0 || _sticky is not null) return; // a poisoned context frees its pinned memory when it is destroyed
        Enter();
        Check(CudaDriver.cuMemFreeHost(pointer), "cuMemFreeHost");
    }

    /// <inheritdoc/>
    public void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        Enter();
        Check(CudaDriver.cuMemcpyHtoDAsync_v2(destination, (void*)pinnedSource, (nuint)bytes, StreamHandle(stream)), "cuMemcpyHtoDAsync_v2");
    }

    /// <inheritdoc/>
    public void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        Enter();
        Check(CudaDriver.cuMemcpyDtoHAsync_v2((void*)pinnedDestination, source, (nuint)bytes, StreamHandle(stream)), "cuMemcpyDtoHAsync_v2");
    }

    /// <inheritdoc/>
    public CudaEvent CreateEvent(bool timing = true)
    {
        Enter();
        Check(CudaDriver.cuEventCreate(out nint handle, timing ? CudaDriver.EventDefault : CudaDriver.EventDisableTiming), "cuEventCreate");
        return new DriverCudaEvent(this, handle);
    }

    /// <inheritdoc/>
    public void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent)
    {
        ArgumentNullException.ThrowIfNull(cudaEvent);
        if (cudaEvent is not DriverCudaEvent e || !ReferenceEquals(e.Device, this))
            throw new ArgumentException("The event belongs to another device.", nameof(cudaEvent));
        Enter();
        Check(CudaDriver.cuStreamWaitEvent(StreamHandle(stream), e.Handle, 0), "cuStreamWaitEvent");
    }

    // ------------------------------------------------------------------------------------------- graphs

    /// <inheritdoc/>
    public bool IsCapturing => _capturing;

    /// <inheritdoc/>
    public void BeginCapture()
    {
        Enter();
        if (_capturing) throw new InvalidOperationException("A CUDA graph capture is already in progress on this device.");
        Check(CudaDriver.cuStreamBeginCapture_v2(_stream, CudaDriver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture_v2");
        _capturing = true;
    }

    /// <inheritdoc/>
    public CudaGraph EndCapture()
    {
        if (!_capturing) throw new InvalidOperationException("No CUDA graph capture is in progress on this device.");
        Enter();
        _capturing = false;
        Check(CudaDriver.cuStreamEndCapture(_stream, out nint graph), "cuStreamEndCapture");
        try
        {
            nuint nodes = 0;
            Check(CudaDriver.cuGraphGetNodes(graph, null, ref nodes), "cuGraphGetNodes");
            Check(CudaDriver.cuGraphInstantiateWithFlags(out nint exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new DriverCudaGraph(this, graph, exec, checked((int)nodes));
        }
        catch
        {
            CudaDriver.cuGraphDestroy(graph);
            throw;
        }
    }

    /// <inheritdoc/>
    public void LaunchGraph(CudaGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph is not DriverCudaGraph g || !ReferenceEquals(g.Owner, this))
            throw new ArgumentException("The graph belongs to another device.", nameof(graph));
        ObjectDisposedException.ThrowIf(g.IsDisposed, g);
        Enter();
        Check(CudaDriver.cuGraphLaunch(g.Exec, _stream), "cuGraphLaunch");
    }

    private sealed class DriverCudaGraph(DriverCudaDevice device, nint graph, nint exec, int nodes) : CudaGraph(device, nodes)
    {
        public nint Exec => exec;

        protected override void DisposeCore()
        {
            if (device._disposed) return; // the context teardown destroyed it
            // Best effort and never throwing, also after a sticky error.
            if (CudaDriver.cuCtxSetCurrent(device._context) == CuResult.Success) _currentContext = device._context;
            CudaDriver.cuGraphExecDestroy(exec);
            CudaDriver.cuGraphDestroy(graph);
        }
    }

    private sealed class DriverCudaEvent(DriverCudaDevice device, nint handle) : CudaEvent
    {
        public DriverCudaDevice Device => device;

        public nint Handle => handle;

        protected override void RecordCore(CudaStream stream)
        {
            device.Enter();
            device.Check(CudaDriver.cuEventRecord(handle, device.StreamHandle(stream)), "cuEventRecord");
        }

        protected override bool QueryCore()
        {
            device.Enter();
            int result = CudaDriver.cuEventQuery(handle);
            if (result == CuResult.NotReady) return false;
            device.Check(result, "cuEventQuery");
            return true;
        }

        protected override void SynchronizeCore()
        {
            device.Enter();
            device.Check(CudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
        }

        protected override float ElapsedToCore(CudaEvent end)
        {
            device.Enter();
            device.Check(CudaDriver.cuEventElapsedTime(out float ms, handle, ((DriverCudaEvent)end).Handle), "cuEventElapsedTime");
            return ms;
        }

        protected override void DisposeCore()
        {
            if (device._disposed) return; // the context teardown destroyed it
            // Best effort and never throwing, also after a sticky error.
            if (CudaDriver.cuCtxSetCurrent(device._context) == CuResult.Success) _currentContext = device._context;
            CudaDriver.cuEventDestroy_v2(handle);
        }
    }
}
