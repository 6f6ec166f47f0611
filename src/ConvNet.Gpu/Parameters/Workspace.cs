namespace ConvNet.Gpu.Parameters;

/// <summary>
/// A layer's reusable buffers (activations, gradients, masks), keyed by purpose. A buffer is allocated the first time
/// it is asked for and kept while later requests have the same dimensions, so a training loop allocates once per
/// batch size; a different batch size (such as a smaller last batch) frees and re-allocates it.
/// </summary>
internal sealed class Workspace : IDisposable
{
    private readonly Dictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);

    /// <summary>Returns the buffer for <paramref name="key"/> with exactly <paramref name="shape"/>, allocating it if needed.</summary>
    public Tensor Get(IBackend backend, string key, TensorShape shape, DataType dataType = DataType.Float32) =>
        Get(backend, key, shape, out _, dataType);

    /// <summary>Like <see cref="Get(IBackend, string, TensorShape, DataType)"/>; <paramref name="allocated"/> says whether the buffer is new (its contents undefined).</summary>
    public Tensor Get(IBackend backend, string key, TensorShape shape, out bool allocated, DataType dataType = DataType.Float32)
    {
        allocated = false;
        if (_buffers.TryGetValue(key, out var t))
        {
            if (t.Shape.SameDimensions(shape) && t.DataType == dataType && !t.IsDisposed) return t;
            t.Dispose();
        }
        t = Persistent.Allocate(backend, shape, dataType);
        _buffers[key] = t;
        allocated = true;
        return t;
    }

    /// <summary>Bytes currently held.</summary>
    public long ByteCount => _buffers.Values.Sum(t => t.ByteCount);

    /// <summary>Frees every buffer.</summary>
    public void Dispose()
    {
        foreach (var t in _buffers.Values) t.Dispose();
        _buffers.Clear();
    }
}

/// <summary>Allocation of tensors that must outlive any <see cref="TensorScope"/> the caller has open.</summary>
internal static class Persistent
{
    /// <summary>Allocates a tensor that no enclosing scope will free (it is detached from a private inner scope).</summary>
    public static Tensor Allocate(IBackend backend, TensorShape shape, DataType dataType = DataType.Float32)
    {
        using var scope = new TensorScope();
        return scope.Keep(backend.Allocate(shape, dataType));
    }
}
