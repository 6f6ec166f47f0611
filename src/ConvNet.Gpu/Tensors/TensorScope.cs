namespace ConvNet.Gpu;

/// <summary>
/// Frees temporaries: every owning tensor allocated on this thread while the scope is the innermost
/// one is disposed when the scope is disposed, unless <see cref="Keep"/> detached it first.
/// <code>
/// using (var scope = new TensorScope()) { var t = backend.Allocate(...); ...; scope.Keep(result); }
/// </code>
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? t_current;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    /// <summary>Opens a scope nested inside the current one (if any) on this thread.</summary>
    public TensorScope()
    {
        _parent = t_current;
        t_current = this;
    }

    /// <summary>Number of tensors the scope will free.</summary>
    public int Count => _owned.Count;

    internal static void Track(Tensor t) => t_current?._owned.Add(t);

    /// <summary>Detaches <paramref name="tensor"/> so the scope does not free it; returns it for chaining.</summary>
    public Tensor Keep(Tensor tensor)
    {
        _owned.Remove(tensor);
        return tensor;
    }

    /// <summary>Disposes every tracked tensor and restores the enclosing scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
        if (t_current == this) t_current = _parent;
    }
}
