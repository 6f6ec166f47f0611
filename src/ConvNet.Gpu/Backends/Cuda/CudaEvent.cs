namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// A marker on one of the device's streams. <see cref="Record()"/> queues it after the work queued so far on that stream;
/// <see cref="IsComplete"/> asks without waiting whether that work has finished; <see cref="Synchronize"/> waits for it;
/// <see cref="ICudaDevice.StreamWaitEvent"/> orders another stream after it; <see cref="ElapsedMilliseconds"/> gives the
/// device time between two recorded timing events. Recording again moves the marker (the usual event reuse).
/// </summary>
internal abstract class CudaEvent : IDisposable
{
    private bool _disposed;

    /// <summary>Queues the event on the compute stream (after all work queued there so far).</summary>
    public void Record() => Record(CudaStream.Compute);

    /// <summary>Queues the event on <paramref name="stream"/> (after all work queued there so far).</summary>
    public void Record(CudaStream stream)
    {
        ThrowIfDisposed();
        RecordCore(stream);
    }

    /// <summary>
    /// True when the work before the last <see cref="Record()"/> has finished (or the event was never recorded);
    /// never blocks (cuEventQuery). Sticky errors surface here as <see cref="CudaException"/>.
    /// </summary>
    public bool IsComplete
    {
        get
        {
            ThrowIfDisposed();
            return QueryCore();
        }
    }

    /// <summary>Blocks until the recorded event has completed.</summary>
    public void Synchronize()
    {
        ThrowIfDisposed();
        SynchronizeCore();
    }

    /// <summary>Milliseconds of device time between two recorded, completed events (waits for <paramref name="end"/>).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        start.ThrowIfDisposed();
        end.ThrowIfDisposed();
        if (start.GetType() != end.GetType())
            throw new ArgumentException("Both events must come from the same device.", nameof(end));
        end.SynchronizeCore();
        return start.ElapsedToCore(end);
    }

    /// <summary>Milliseconds from this event to <paramref name="end"/>.</summary>
    public float ElapsedMillisecondsTo(CudaEvent end) => ElapsedMilliseconds(this, end);

    /// <summary>Releases the event.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Device-specific record on <paramref name="stream"/>.</summary>
    protected abstract void RecordCore(CudaStream stream);

    /// <summary>Device-specific non-blocking completion query.</summary>
    protected abstract bool QueryCore();

    /// <summary>Device-specific wait.</summary>
    protected abstract void SynchronizeCore();

    /// <summary>Device-specific elapsed time to <paramref name="end"/> (same concrete type, already completed).</summary>
    protected abstract float ElapsedToCore(CudaEvent end);

    /// <summary>Device-specific release.</summary>
    protected abstract void DisposeCore();

    /// <summary>Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
