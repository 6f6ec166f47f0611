namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// Page-locked staging memory for queued host-to-device copies of small values (step scalars, dropout offsets): each
/// <see cref="Stage"/> copies the caller's bytes into the next region of a ring and returns its address for an
/// asynchronous copy; <see cref="Queued"/> records an event after that copy. A region is reused only once the event of
/// every earlier copy from it has completed: the host then waits only when the GPU is a whole ring of uploads behind
/// (those waits are counted). A request larger than the ring grows it (after the queued copies have finished).
/// </summary>
internal sealed class PinnedStagingRing(ICudaDevice device, long initialBytes = 1 << 20) : IDisposable
{
    private const long Alignment = 256;
    private readonly Queue<(long Start, long End, CudaEvent Done)> _inFlight = new();
    private readonly Stack<CudaEvent> _idleEvents = new();
    private nint _base;
    private long _capacity;
    private long _head;

    /// <summary>Copies <paramref name="data"/> into the ring and returns its pinned address (valid until <see cref="Queued"/>'s event completes).</summary>
    public nint Stage(ReadOnlySpan<byte> data, out long start, out long end)
    {
        long size = (data.Length + Alignment - 1) / Alignment * Alignment;
        if (size > _capacity) Grow(Math.Max(size, Math.Max(initialBytes, 2 * _capacity)));
        if (_head + size > _capacity) _head = 0;
        start = _head;
        end = _head + size;
        // The oldest copy still in flight is the first region ahead of the head; wait while it overlaps [start, end).
        while (_inFlight.Count > 0 && _inFlight.Peek().Start < end && start < _inFlight.Peek().End) Retire(_inFlight.Dequeue().Done);
        _head = end;
        unsafe
        {
            data.CopyTo(new Span<byte>((void*)(_base + (nint)start), data.Length));
        }
        return _base + (nint)start;
    }

    /// <summary>Marks [start, end) busy until the work queued on the compute stream so far (the copy from it) has run.</summary>
    public void Queued(long start, long end)
    {
        var done = _idleEvents.Count > 0 ? _idleEvents.Pop() : device.CreateEvent(timing: false);
        done.Record(CudaStream.Compute);
        _inFlight.Enqueue((start, end, done));
    }

    private void Retire(CudaEvent done)
    {
        if (!done.IsComplete) done.Synchronize();
        _idleEvents.Push(done);
    }

    private void Grow(long bytes)
    {
        while (_inFlight.Count > 0) Retire(_inFlight.Dequeue().Done);
        if (_base != 0) device.FreePinned(_base);
        _base = 0;
        _capacity = 0;
        _base = device.AllocatePinned(bytes);
        _capacity = bytes;
        _head = 0;
    }

    /// <summary>
    /// Waits for the copies still in flight (not after a sticky error: nothing runs any more), then frees the pinned
    /// memory and the events. Never throws after a sticky error.
    /// </summary>
    public void Dispose()
    {
        if (device.StickyError is null)
            while (_inFlight.Count > 0) Retire(_inFlight.Dequeue().Done);
        while (_inFlight.Count > 0) _idleEvents.Push(_inFlight.Dequeue().Done);
        while (_idleEvents.Count > 0) _idleEvents.Pop().Dispose();
        if (_base != 0) device.FreePinned(_base);
        _base = 0;
    }
}
