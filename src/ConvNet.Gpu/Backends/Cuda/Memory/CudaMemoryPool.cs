namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// Caching device-memory pool. Freed blocks are kept in size-class bins and handed out again, so steady-state
/// training allocates no device memory. Size classes: multiples of 512 B up to 1 MiB, then four classes per
/// power of two (at most 25 % slack). With <c>enabled: false</c> every Rent/Return is a raw device
/// Allocate/Free (for compute-sanitizer memcheck, which must see each buffer's true bounds).
/// On out-of-memory the pool frees its cache and retries once before letting the exception through.
/// Thread-safe.
/// </summary>
internal sealed class CudaMemoryPool : IDisposable
{
    private const long SmallGranularity = 512;
    private const long SmallLimit = 1L << 20;

    private readonly ICudaDevice _device;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Stack<ulong>> _bins = new();
    private readonly Dictionary<ulong, long> _live = new(); // pointer -> block bytes (size class, or raw size)
    private long _bytesInUse;
    private long _peakBytes;
    private long _bytesCached;
    private long _deviceAllocations;
    private long _cacheHits;
    private bool _disposed;

    /// <summary>Creates a pool over <paramref name="device"/>; <paramref name="enabled"/> false makes it a pass-through.</summary>
    public CudaMemoryPool(ICudaDevice device, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        Enabled = enabled;
    }

    /// <summary>Whether freed blocks are cached (false: raw allocations).</summary>
    public bool Enabled { get; }

    /// <summary>
    /// While set (during a CUDA graph capture), <see cref="Rent"/> and <see cref="Return"/> throw
    /// <see cref="InvalidOperationException"/> with this text: a graph keeps the addresses it recorded, so no block may
    /// change hands while one is being recorded.
    /// </summary>
    public string? FrozenReason { get; set; }

    /// <summary>Bytes in use, peak, cached and live allocations (block sizes, i.e. after rounding to the size class).</summary>
    public MemoryStats Stats
    {
        get
        {
            lock (_lock) return new MemoryStats(_bytesInUse, _peakBytes, _bytesCached, _live.Count);
        }
    }

    /// <summary>Device allocations made so far (cache misses plus pass-through allocations).</summary>
    public long DeviceAllocationCount
    {
        get { lock (_lock) return _deviceAllocations; }
    }

    /// <summary>Rents served from the cache.</summary>
    public long CacheHitCount
    {
        get { lock (_lock) return _cacheHits; }
    }

    /// <summary>The block size a request of <paramref name="bytes"/> is rounded up to.</summary>
    public static long SizeClass(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= SmallLimit) return Math.Max(SmallGranularity, (bytes + SmallGranularity - 1) / SmallGranularity * SmallGranularity);
        // Four classes per octave: step = (largest power of two below bytes) / 4.
        long step = (1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(bytes - 1)))) / 4;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>Returns a device block of at least <paramref name="bytes"/> bytes (0 returns the null pointer).</summary>
    public ulong Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return 0;
        if (FrozenReason is { } reason) throw new InvalidOperationException($"CudaMemoryPool.Rent of {bytes:N0} bytes: {reason}");
        long block = Enabled ? SizeClass(bytes) : bytes;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ulong pointer;
            if (Enabled && _bins.TryGetValue(block, out var bin) && bin.Count > 0)
            {
                pointer = bin.Pop();
                _bytesCached -= block;
                _cacheHits++;
            }
            else
            {
                pointer = AllocateWithRetry(block);
                _deviceAllocations++;
            }
            _live.Add(pointer, block);
            _bytesInUse += block;
            if (_bytesInUse > _peakBytes) _peakBytes = _bytesInUse;
            return pointer;
        }
    }

    /// <summary>Gives back a block from <see cref="Rent"/>; <paramref name="bytes"/> must be the size it was rented with.</summary>
    public void Return(ulong pointer, long bytes)
    {
        ReturnCount++;
        if (pointer == 0) return;
        if (FrozenReason is { } reason) throw new InvalidOperationException($"CudaMemoryPool.Return of 0x{pointer:X} ({bytes:N0} bytes): {reason}");
        lock (_lock)
        {
            if (_disposed) return; // the device is going away; its memory goes with it
            if (!_live.Remove(pointer, out long block))
                throw new InvalidOperationException($"CudaMemoryPool.Return: 0x{pointer:X} is not a live block of this pool (double free?).");
            long expected = Enabled ? SizeClass(bytes) : bytes;
            if (expected != block)
            {
                _live.Add(pointer, block);
                throw new InvalidOperationException(
                    $"CudaMemoryPool.Return: 0x{pointer:X} was rented as a {block}-byte block but returned with {bytes} bytes.");
            }
            _bytesInUse -= block;
            if (!Enabled)
            {
                _device.Free(pointer);
                return;
            }
            if (!_bins.TryGetValue(block, out var bin)) _bins[block] = bin = new Stack<ulong>();
            bin.Push(pointer);
            _bytesCached += block;
        }
    }

    /// <summary>Blocks given back with <see cref="Return"/> so far (a captured graph's buffers may have moved once this changed).</summary>
    public long ReturnCount { get; private set; }

    /// <summary>Frees every cached block back to the device (blocks in use are untouched).</summary>
    public void Trim()
    {
        lock (_lock) TrimLocked();
    }

    /// <summary>Resets the peak to the current bytes in use.</summary>
    public void ResetPeak()
    {
        lock (_lock) _peakBytes = _bytesInUse;
    }

    /// <summary>
    /// Frees the cache. Blocks still rented are left to the device's own teardown; later <see cref="Return"/>s do nothing.
    /// After a sticky error the device's Free does nothing, so this never throws then.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            TrimLocked();
        }
    }

    private ulong AllocateWithRetry(long block)
    {
        try
        {
            return _device.Allocate(block);
        }
        catch (CudaOutOfMemoryException) when (_bytesCached > 0)
        {
            TrimLocked();
            return _device.Allocate(block);
        }
    }

    private void TrimLocked()
    {
        foreach (var (_, bin) in _bins)
            while (bin.Count > 0) _device.Free(bin.Pop());
        _bins.Clear();
        _bytesCached = 0;
    }
}
