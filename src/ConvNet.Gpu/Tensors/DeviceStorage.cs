namespace ConvNet.Gpu;

/// <summary>
/// A block of backend memory holding <see cref="ElementCount"/> 4-byte elements. Exactly one
/// owning <see cref="Tensor"/> disposes it; views reference it without owning it.
/// Backends subclass it (host array, device pointer).
/// </summary>
public abstract class DeviceStorage : IDisposable
{
    /// <summary>Creates storage for <paramref name="elementCount"/> 4-byte elements.</summary>
    protected DeviceStorage(long elementCount) => ElementCount = elementCount;

    /// <summary>Capacity in 4-byte elements.</summary>
    public long ElementCount { get; }

    /// <summary>Capacity in bytes.</summary>
    public long ByteCount => ElementCount * 4;

    /// <summary>Whether the memory has been released.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Releases the memory; later use of any tensor on it throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Returns the memory to the backend (or its pool).</summary>
    protected abstract void Release();
}
