using System.Diagnostics;
using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda.Emulation;

// Pinned memory, asynchronous copies, events and graphs on the emulated device. Work runs synchronously in call order,
// so the copy stream and the compute stream are trivially ordered and every event is complete once recorded. A capture
// records each call it would have run (with its arguments, checked when recorded) and a replay runs the recorded calls
// again in order, re-checking every address, so a buffer freed after the capture fails the replay by name as an illegal
// address would on a GPU. Allocation, freeing and blocking calls during a capture fail with
// CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidate the capture, as under the driver's thread-local capture mode.
internal sealed unsafe partial class EmulatedCudaDevice
{
    private const int PinnedAlignment = 4096;
    private readonly Dictionary<nint, long> _pinned = new(); // pinned host allocations: base -> bytes
    private List<Action>? _capture;
    private string? _captureInvalidatedBy;

    /// <inheritdoc/>
    public nint AllocatePinned(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        RefuseDuringCapture("cuMemHostAlloc");
        lock (_lock)
        {
            ThrowIfDisposed();
            void* memory;
            try
            {
                memory = NativeMemory.AlignedAlloc((nuint)bytes, PinnedAlignment);
            }
            catch (OutOfMemoryException)
            {
                throw new CudaOutOfMemoryException("cuMemHostAlloc", CuResult.OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", bytes, 0, 0);
            }
            NativeMemory.Fill(memory, (nuint)bytes, 0xFF);
            _pinned.Add((nint)memory, bytes);
            return (nint)memory;
        }
    }

    /// <inheritdoc/>
    public void FreePinned(nint pointer)
    {
        if (pointer == 0) return;
        RefuseDuringCapture("cuMemFreeHost");
        lock (_lock)
        {
            if (_disposed && _sticky is not null) return; // the poisoned device's teardown freed everything
            ObjectDisposedException.ThrowIf(_disposed, this); // after a sticky error memory is still released, never refused
            if (!_pinned.Remove(pointer))
                throw Invalid("cuMemFreeHost", $"0x{pointer:X} is not the start of a live pinned allocation of this device (double free?).");
            NativeMemory.AlignedFree((void*)pointer);
        }
    }

    /// <inheritdoc/>
    public void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        CheckPinnedRange("cuMemcpyHtoDAsync_v2", pinnedSource, bytes);
        CheckRange("cuMemcpyHtoDAsync_v2", destination, bytes);
        // Only the compute stream is captured; a copy-stream upload runs now even during a capture (as on the driver).
        if (stream == CudaStream.Compute && Record(() => CopyHostToDeviceAsync(destination, pinnedSource, bytes, stream))) return;
        Buffer.MemoryCopy((void*)pinnedSource, (void*)destination, bytes, bytes);
    }

    /// <inheritdoc/>
    public void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        CheckPinnedRange("cuMemcpyDtoHAsync_v2", pinnedDestination, bytes);
        CheckRange("cuMemcpyDtoHAsync_v2", source, bytes);
        if (stream == CudaStream.Compute && Record(() => CopyDeviceToHostAsync(pinnedDestination, source, bytes, stream))) return;
        Buffer.MemoryCopy((void*)source, (void*)pinnedDestination, bytes, bytes);
    }

    /// <inheritdoc/>
    public CudaEvent CreateEvent(bool timing = true)
    {
        ThrowIfDisposed();
        return new EmulatedCudaEvent(this, timing);
    }

    /// <inheritdoc/>
    public void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent)
    {
        ArgumentNullException.ThrowIfNull(cudaEvent);
        if (cudaEvent is not EmulatedCudaEvent e || !ReferenceEquals(e.Device, this))
            throw new ArgumentException("The event belongs to another device.", nameof(cudaEvent));
        ThrowIfDisposed();
        if (stream == CudaStream.Compute) RefuseDuringCapture("cuStreamWaitEvent");
        // Nothing to wait for: the work before the event has already run.
    }

    // ------------------------------------------------------------------------------------------- graphs

    /// <inheritdoc/>
    public bool IsCapturing => _capture is not null;

    /// <inheritdoc/>
    public void BeginCapture()
    {
        ThrowIfDisposed();
        if (_capture is not null) throw new InvalidOperationException("A CUDA graph capture is already in progress on this device.");
        _capture = [];
        _captureInvalidatedBy = null;
    }

    /// <inheritdoc/>
    public CudaGraph EndCapture()
    {
        var recorded = _capture ?? throw new InvalidOperationException("No CUDA graph capture is in progress on this device.");
        _capture = null;
        ThrowIfDisposed();
        if (_captureInvalidatedBy is { } call)
            throw new CudaException("cuStreamEndCapture", null, CuResult.StreamCaptureInvalidated, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
                "operation failed due to a previous error during capture", $"{call} was called during the capture.");
        return new EmulatedCudaGraph(this, recorded);
    }

    /// <inheritdoc/>
    public void LaunchGraph(CudaGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph is not EmulatedCudaGraph g || !ReferenceEquals(g.Owner, this))
            throw new ArgumentException("The graph belongs to another device.", nameof(graph));
        ObjectDisposedException.ThrowIf(g.IsDisposed, g);
        ThrowIfDisposed();
        if (Record(() => LaunchGraph(graph))) return;
        foreach (var node in g.Nodes) node();
    }

    /// <summary>While capturing, appends <paramref name="node"/> to the graph and returns true; otherwise returns false (run it now).</summary>
    private bool Record(Action node)
    {
        if (_capture is null) return false;
        _capture.Add(node);
        return true;
    }

    /// <summary>Fails <paramref name="call"/> during a capture and invalidates the capture, as the driver does.</summary>
    private void RefuseDuringCapture(string call)
    {
        if (_capture is null) return;
        _captureInvalidatedBy ??= call;
        throw new CudaException(call, null, CuResult.StreamCaptureUnsupported, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
            "operation not permitted when stream is capturing",
            "Allocating, freeing and host-blocking calls are not allowed while a CUDA graph is being captured; the capture is now invalid.");
    }

    private void CheckPinnedRange(string call, nint pointer, long bytes)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            foreach (var (start, size) in _pinned)
                if (pointer >= start && (ulong)(pointer - start) + (ulong)bytes <= (ulong)size) return;
        }
        throw Invalid(call, $"{bytes} bytes at host address 0x{pointer:X} are not inside one live pinned allocation of this device (cuMemHostAlloc).");
    }

    /// <summary>Frees the pinned allocations still live (called from Dispose).</summary>
    private void FreeAllPinned()
    {
        foreach (var (pointer, _) in _pinned) NativeMemory.AlignedFree((void*)pointer);
        _pinned.Clear();
    }

    private sealed class EmulatedCudaGraph(EmulatedCudaDevice device, List<Action> nodes) : CudaGraph(device, nodes.Count)
    {
        public IReadOnlyList<Action> Nodes => nodes;

        protected override void DisposeCore() => nodes.Clear();
    }

    /// <summary>Host-clock event: emulated work is synchronous, so the time between records is the work's time.</summary>
    private sealed class EmulatedCudaEvent(EmulatedCudaDevice device, bool timing) : CudaEvent
    {
        private long _timestamp = -1;

        public EmulatedCudaDevice Device => device;

        protected override void RecordCore(CudaStream stream)
        {
            device.ThrowIfDisposed();
            if (stream == CudaStream.Compute) device.RefuseDuringCapture("cuEventRecord");
            _timestamp = Stopwatch.GetTimestamp();
        }

        protected override bool QueryCore() => true;

        protected override void SynchronizeCore() => device.RefuseDuringCapture("cuEventSynchronize");

        protected override float ElapsedToCore(CudaEvent end)
        {
            long endStamp = ((EmulatedCudaEvent)end)._timestamp;
            if (!timing || !((EmulatedCudaEvent)end).IsTiming)
                throw new CudaException("cuEventElapsedTime", null, 400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle",
                    "Events created without timing cannot measure elapsed time.");
            if (_timestamp < 0 || endStamp < 0)
                throw new CudaException("cuEventElapsedTime", null, 400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle",
                    "Both events must be recorded before asking for the time between them.");
            return (float)Stopwatch.GetElapsedTime(_timestamp, endStamp).TotalMilliseconds;
        }

        private bool IsTiming => timing;

        protected override void DisposeCore()
        {
        }
    }
}
