namespace ConvNet.Gpu;

/// <summary>
/// Common base of the backends: each public op validates its arguments with <see cref="OpChecks"/>
/// (so every backend rejects bad input identically, before any work) and then calls the protected
/// <c>...Core</c> method that the backend implements. Core methods may assume valid arguments.
/// This file holds the memory ops and the lifetime; each op family's checks and Core methods live in
/// BackendBase.X.cs beside their twins CpuBackend.X.cs and CudaBackend.X.cs (X: Gemm, Conv, Epilogue, Pool,
/// Activation, SoftmaxLoss, Elementwise, BatchNorm, Optimizer, and Training for the host-free step ops).
/// </summary>
public abstract partial class BackendBase : IBackend
{
    private readonly ConcurrencyGuard _use;
    private bool _disposed;

    private static int _instances;

    /// <summary>Sets up the concurrent-use check shared by every compute op.</summary>
    protected BackendBase()
    {
        _use = new ConcurrencyGuard(() => $"backend '{Name}'");
        InstanceNumber = Interlocked.Increment(ref _instances);
    }

    /// <summary>1 for the first backend this process created, 2 for the second...: tells apart backends of the same name in messages.</summary>
    internal int InstanceNumber { get; }

    /// <summary>
    /// The check every compute op enters first: one thread at a time (see <see cref="ConcurrentUseException"/>).
    /// Memory operations (Allocate, Upload, Download) are not guarded; they are safe on distinct tensors.
    /// </summary>
    internal ConcurrencyGuard UseGuard => _use;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public string SelectionReason { get; internal set; } = "requested explicitly";

    /// <inheritdoc/>
    public abstract bool IsCuda { get; }

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed => _disposed;

    /// <summary>Throws <see cref="ObjectDisposedException"/> after disposal.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // ------------------------------------------------------------ memory

    /// <inheritdoc/>
    public Tensor Allocate(TensorShape shape, DataType dataType = DataType.Float32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        return new Tensor(this, AllocateStorage(shape.ElementCount), 0, shape, dataType, ownsStorage: true);
    }

    /// <summary>Allocates zero-filled storage for <paramref name="elementCount"/> 4-byte elements.</summary>
    protected abstract DeviceStorage AllocateStorage(long elementCount);

    /// <inheritdoc/>
    public void Upload(Tensor destination, ReadOnlySpan<float> source)
    {
        OpChecks.Float(this, "Upload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"Upload: source has {source.Length} floats but destination {destination.Shape} has {destination.ElementCount} elements.");
        UploadCore(destination, System.Runtime.InteropServices.MemoryMarshal.AsBytes(source));
    }

    /// <inheritdoc/>
    public void Upload(Tensor destination, ReadOnlySpan<int> source)
    {
        OpChecks.Int(this, "Upload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"Upload: source has {source.Length} ints but destination {destination.Shape} has {destination.ElementCount} elements.");
        UploadCore(destination, System.Runtime.InteropServices.MemoryMarshal.AsBytes(source));
    }

    /// <inheritdoc/>
    public void Download(Tensor source, Span<float> destination)
    {
        OpChecks.Float(this, "Download", "source", source);
        if (destination.Length != source.ElementCount)
            throw new ShapeMismatchException($"Download: destination has {destination.Length} floats but source {source.Shape} has {source.ElementCount} elements.");
        DownloadCore(source, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
    }

    /// <inheritdoc/>
    public void Download(Tensor source, Span<int> destination)
    {
        OpChecks.Int(this, "Download", "source", source);
        if (destination.Length != source.ElementCount)
            throw new ShapeMismatchException($"Download: destination has {destination.Length} ints but source {source.Shape} has {source.ElementCount} elements.");
        DownloadCore(source, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies exactly tensor.ByteCount bytes from the host into the tensor.</summary>
    protected abstract void UploadCore(Tensor destination, ReadOnlySpan<byte> source);

    /// <summary>Waits for queued work, then copies exactly tensor.ByteCount bytes to the host.</summary>
    protected abstract void DownloadCore(Tensor source, Span<byte> destination);

    /// <inheritdoc/>
    public abstract void Synchronize();

    /// <inheritdoc/>
    public abstract MemoryStats GetMemoryStats();

    /// <inheritdoc/>
    public void Fill(Tensor x, float value)
    {
        using var use = _use.Enter("Fill");
        OpChecks.Float(this, "Fill", "x", x);
        FillCore(x, value);
    }

    /// <inheritdoc/>
    public void Copy(Tensor source, Tensor destination)
    {
        using var use = _use.Enter("Copy");
        OpChecks.Owned(this, "Copy", "source", source);
        OpChecks.Owned(this, "Copy", "destination", destination);
        if (source.DataType != destination.DataType)
            throw new ShapeMismatchException($"Copy: source is {source.DataType} but destination is {destination.DataType}.");
        OpChecks.SameCount("Copy", "source", source, "destination", destination);
        CopyCore(source, destination);
    }

    /// <summary>Fill without checks.</summary>
    protected abstract void FillCore(Tensor x, float value);
    /// <summary>Copy without checks (4-byte elements, any data type).</summary>
    protected abstract void CopyCore(Tensor source, Tensor destination);

    // ------------------------------------------------------------ lifetime

    /// <summary>Releases the backend's resources (workspaces, device context).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        DisposeScratch();
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Override to release backend resources.</summary>
    protected virtual void Dispose(bool disposing) { }
}
