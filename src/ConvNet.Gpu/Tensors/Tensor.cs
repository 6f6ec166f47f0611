namespace ConvNet.Gpu;

/// <summary>
/// A dense row-major tensor (NCHW for images) of float32 or int32 elements living in one backend's memory.
/// An owning tensor frees its memory on <see cref="Dispose"/>; a view (<see cref="View"/>, <see cref="Reshape"/>,
/// <see cref="Slice"/>) shares the owner's memory and frees nothing. Data moves only through explicit
/// <see cref="Upload(ReadOnlySpan{float})"/> and <see cref="Download(Span{float})"/> calls: there are no hidden copies.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly DeviceStorage _storage;
    private bool _disposed;

    internal Tensor(IBackend backend, DeviceStorage storage, long offset, TensorShape shape, DataType dataType, bool ownsStorage)
    {
        if (offset < 0 || offset + shape.ElementCount > storage.ElementCount)
            throw new ShapeMismatchException(
                $"A tensor of shape {shape} at element offset {offset} does not fit in storage of {storage.ElementCount} elements.");
        Backend = backend;
        _storage = storage;
        Offset = offset;
        Shape = shape;
        DataType = dataType;
        OwnsStorage = ownsStorage;
        if (ownsStorage) TensorScope.Track(this);
    }

    /// <summary>The backend whose memory holds this tensor.</summary>
    public IBackend Backend { get; }

    /// <summary>The shape, with named dimensions.</summary>
    public TensorShape Shape { get; }

    /// <summary>The element type.</summary>
    public DataType DataType { get; }

    /// <summary>Offset of the first element inside the underlying storage, in elements.</summary>
    public long Offset { get; }

    /// <summary>True for the tensor that frees the memory; false for views.</summary>
    public bool OwnsStorage { get; }

    /// <summary>True for views, which never free memory.</summary>
    public bool IsView => !OwnsStorage;

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Size in bytes of this tensor's elements.</summary>
    public long ByteCount => Shape.ElementCount * 4;

    /// <summary>Rank of <see cref="Shape"/>.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Whether this tensor, or the owner of its memory, has been disposed.</summary>
    public bool IsDisposed => _disposed || _storage.IsDisposed;

    /// <summary>The backend storage; throws if this tensor or its owner has been disposed.</summary>
    internal DeviceStorage Storage
    {
        get
        {
            if (IsDisposed)
                throw new ObjectDisposedException(nameof(Tensor),
                    $"The tensor {Shape} ({(OwnsStorage ? "owner" : "view")}) has been disposed, or the tensor that owns its memory has.");
            return _storage;
        }
    }

    /// <summary>A non-owning view of <paramref name="shape"/> starting <paramref name="elementOffset"/> elements into this tensor.</summary>
    public Tensor View(TensorShape shape, long elementOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (elementOffset < 0 || elementOffset + shape.ElementCount > ElementCount)
            throw new ShapeMismatchException(
                $"A view of shape {shape} at offset {elementOffset} does not fit inside tensor {Shape} ({ElementCount} elements).");
        return new Tensor(Backend, Storage, Offset + elementOffset, shape, DataType, ownsStorage: false);
    }

    /// <summary>A non-owning view of the same elements with another shape of equal element count.</summary>
    public Tensor Reshape(TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.ElementCount != ElementCount)
            throw new ShapeMismatchException(
                $"Cannot reshape {Shape} ({ElementCount} elements) to {shape} ({shape.ElementCount} elements).");
        return View(shape);
    }

    /// <summary>A non-owning view of <paramref name="count"/> entries of the first dimension, starting at <paramref name="start"/>.</summary>
    public Tensor Slice(int start, int count)
    {
        if (start < 0 || count < 1 || start + count > Shape[0])
            throw new ShapeMismatchException(
                $"Slice [{start}, {start + count}) is outside dimension {Shape.NameOf(0)}={Shape[0]} of tensor {Shape}.");
        long inner = Shape.ElementsFrom(1);
        return View(Shape.WithFirst(count), start * inner);
    }

    /// <summary>Copies host data into this tensor; the span length must equal <see cref="ElementCount"/>.</summary>
    public void Upload(ReadOnlySpan<float> source) => Backend.Upload(this, source);

    /// <summary>Copies host labels or indices into this int32 tensor.</summary>
    public void Upload(ReadOnlySpan<int> source) => Backend.Upload(this, source);

    /// <summary>Copies this tensor into host memory; the span length must equal <see cref="ElementCount"/>.</summary>
    public void Download(Span<float> destination) => Backend.Download(this, destination);

    /// <summary>Copies this int32 tensor into host memory.</summary>
    public void Download(Span<int> destination) => Backend.Download(this, destination);

    /// <summary>Downloads into a new array (one explicit device-to-host copy).</summary>
    public float[] ToArray()
    {
        var a = new float[ElementCount];
        Download(a);
        return a;
    }

    /// <summary>Downloads an int32 tensor into a new array.</summary>
    public int[] ToInt32Array()
    {
        var a = new int[ElementCount];
        Download(a);
        return a;
    }

    /// <summary>Frees the memory if this tensor owns it; a view only marks itself disposed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (OwnsStorage) _storage.Dispose();
    }

    /// <summary>E.g. "Tensor(N=64, C=1, H=28, W=28) Float32 on CPU".</summary>
    public override string ToString() =>
        $"Tensor{Shape} {DataType} on {Backend.Name}{(OwnsStorage ? "" : " (view)")}";
}
