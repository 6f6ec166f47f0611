namespace ConvNet.Gpu.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>
    /// Makes a double-buffered input pipeline on this backend's copy stream (see <see cref="CudaInputPipeline"/>); the
    /// caller disposes it before the backend.
    /// </summary>
    internal CudaInputPipeline CreateInputPipeline()
    {
        ThrowIfDisposed();
        return new CudaInputPipeline(_device);
    }
}

/// <summary>
/// The input pipeline of a training loop that keeps the host out of the step: two slots, each a page-locked host
/// buffer (cuMemHostAlloc) and the device tensors its batch goes to. <see cref="Upload"/> copies the host batch into
/// the slot's pinned buffer and queues the host-to-device copies on the COPY stream, ordered by events: the copy waits
/// (on the device) until the compute stream has finished the step that last read the slot's tensors, and the compute
/// stream waits (on the device) until the copy has landed. So while step i runs, the host shuffles and gathers batch
/// i+1 and its upload overlaps step i. The host itself waits only to reuse a pinned buffer whose previous copy is
/// still in flight, i.e. when it is two batches ahead of the copy engine (those waits are counted as host waits).
/// </summary>
internal sealed class CudaInputPipeline : IDisposable
{
    private readonly ICudaDevice _device;
    private readonly Slot[] _slots;
    private int _next;
    private bool _disposed;

    internal CudaInputPipeline(ICudaDevice device)
    {
        _device = device;
        _slots = [new Slot(device), new Slot(device)];
    }

    /// <summary>Number of slots (the tensors of slot k hold every k-th batch; a CUDA graph is captured per slot).</summary>
    public int SlotCount => _slots.Length;

    /// <summary>The slot the next <see cref="Upload"/> fills: its destination tensors must be that slot's.</summary>
    public int NextSlot => _next;

    /// <summary>
    /// Queues the upload of <paramref name="first"/> and <paramref name="second"/> (host bytes, copied into the slot's
    /// pinned buffer before this returns) into the slot's device tensors <paramref name="firstDestination"/> and
    /// <paramref name="secondDestination"/> (same byte sizes) and moves to the next slot. Work queued on the compute
    /// stream after this call sees the uploaded values. Call <see cref="Consumed"/> with the slot once the step that reads
    /// them is queued.
    /// </summary>
    public int Upload(Tensor firstDestination, ReadOnlySpan<byte> first, Tensor secondDestination, ReadOnlySpan<byte> second)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(firstDestination, first.Length);
        Check(secondDestination, second.Length);
        int index = _next;
        _next = (_next + 1) % _slots.Length;
        var slot = _slots[index];
        long firstBytes = Align(first.Length);
        // The pinned buffer may be rewritten only once its previous copies have run.
        if (slot.CopyRecorded && !slot.Copied.IsComplete) slot.Copied.Synchronize();
        slot.Ensure(firstBytes + Align(second.Length));
        // The copy engine must not overwrite tensors the compute stream may still be reading (the step that last used this slot).
        if (slot.ConsumedRecorded) _device.StreamWaitEvent(CudaStream.Copy, slot.Consumed);
        Stage(slot.Pinned, first, firstDestination);
        Stage(slot.Pinned + (nint)firstBytes, second, secondDestination);
        slot.Copied.Record(CudaStream.Copy);
        slot.CopyRecorded = true;
        _device.StreamWaitEvent(CudaStream.Compute, slot.Copied);
        return index;
    }

    private static long Align(long bytes) => (bytes + 255) / 256 * 256;

    private static void Check(Tensor destination, int bytes)
    {
        if (bytes != destination.ElementCount * 4)
            throw new ShapeMismatchException($"Input upload: {bytes} bytes for {destination} ({destination.ElementCount * 4} bytes).");
    }

    private void Stage(nint pinned, ReadOnlySpan<byte> bytes, Tensor destination)
    {
        unsafe
        {
            bytes.CopyTo(new Span<byte>((void*)pinned, bytes.Length));
        }
        _device.CopyHostToDeviceAsync(CudaBackend.Ptr(destination), pinned, bytes.Length, CudaStream.Copy);
    }

    /// <summary>Marks slot <paramref name="index"/>'s tensors as read by the work queued on the compute stream so far.</summary>
    public void Consumed(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = _slots[index];
        slot.Consumed.Record(CudaStream.Compute);
        slot.ConsumedRecorded = true;
    }

    /// <summary>Waits for the copies in flight (not after a sticky error), then frees the pinned buffers and events.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var slot in _slots) slot.Dispose(_device.StickyError is null);
    }

    private sealed class Slot(ICudaDevice device)
    {
        public readonly CudaEvent Copied = device.CreateEvent(timing: false);
        public readonly CudaEvent Consumed = device.CreateEvent(timing: false);
        public bool CopyRecorded, ConsumedRecorded;
        public nint Pinned;
        private long _capacity;

        public void Ensure(long bytes)
        {
            if (bytes <= _capacity) return;
            if (Pinned != 0) device.FreePinned(Pinned);
            Pinned = 0;
            _capacity = 0;
            Pinned = device.AllocatePinned(bytes);
            _capacity = bytes;
        }

        public void Dispose(bool wait)
        {
            if (wait && CopyRecorded && !Copied.IsComplete) Copied.Synchronize();
            Copied.Dispose();
            Consumed.Dispose();
            if (Pinned != 0) device.FreePinned(Pinned);
            Pinned = 0;
        }
    }
}
