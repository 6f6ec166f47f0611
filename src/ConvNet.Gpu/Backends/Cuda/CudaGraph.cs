namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// An instantiated CUDA graph (a CUgraphExec with its CUgraph) made by <see cref="ICudaDevice.EndCapture"/>: the
/// recorded launches, SGEMM calls, memsets and device-to-device copies of one capture, replayed in one
/// <see cref="ICudaDevice.LaunchGraph"/> with exactly the recorded device addresses and scalar arguments. Whatever must
/// change between replays therefore has to live in device memory that the replay reads. Only valid on its device.
/// </summary>
internal abstract class CudaGraph : IDisposable
{
    private bool _disposed;

    /// <summary>Creates the graph record.</summary>
    protected CudaGraph(object owner, int nodeCount)
    {
        Owner = owner;
        NodeCount = nodeCount;
    }

    /// <summary>Number of nodes: one per recorded launch, memset and copy (a cuBLAS call may add several kernels on a GPU).</summary>
    public int NodeCount { get; }

    /// <summary>The device that made the graph.</summary>
    internal object Owner { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Frees the executable graph and the graph (the caller makes sure no queued replay still runs it).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Device-specific release.</summary>
    protected abstract void DisposeCore();

    /// <summary>Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
