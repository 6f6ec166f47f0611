namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// A timing marker on the device's stream. <see cref="Record"/> queues it after the work queued so far;
/// <see cref="ElapsedMilliseconds"/> gives the device time between two recorded events.
/// </summary>
internal abstract class CudaEvent : IDisposable
{
    private bool _disposed;

    /// <summary>Queues the event on the stream (after all work queued so far).</summary>
    public void Record()
    {
        ThrowIfDisposed();
        RecordCore();
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

    /// <summary>Device-specific record.</summary>
    protected abstract void RecordCore();

    /// <summary>Device-specific wait.</summary>
    protected abstract void SynchronizeCore();

    /// <summary>Device-specific elapsed time to <paramref name="end"/> (same concrete type, already completed).</summary>
    protected abstract float ElapsedToCore(CudaEvent end);

    /// <summary>Device-specific release.</summary>
    protected abstract void DisposeCore();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
