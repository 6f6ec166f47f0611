namespace ConvNet.Gpu.Backends.Cuda;

// CUDA Graph capture and replay at the backend level. A capture records every op the callback queues (kernels, cuBLAS,
// memsets, device copies) into one graph that replays them with the same device addresses and scalar arguments; so the
// callback must find every buffer already allocated (run the same work once eagerly first: the memory pool and the
// layers' workspaces then hold what it needs), and anything that changes between replays must be read from device memory.
// While capturing, the backend refuses, by name, whatever would break that: allocating or freeing device memory,
// uploads, downloads and synchronization.
public sealed partial class CudaBackend
{
    private string? _captureOwner;

    /// <summary>Whether a graph capture is in progress on this backend.</summary>
    public bool IsCapturing => _captureOwner is not null;

    /// <summary>
    /// Records the device work that <paramref name="work"/> queues into a CUDA graph instead of running it, and returns the
    /// graph (the work has NOT run yet: <see cref="LaunchGraph"/> it). <paramref name="what"/> names the capture in errors.
    /// Any exception from <paramref name="work"/> abandons the capture and is rethrown.
    /// </summary>
    internal CudaGraph CaptureGraph(string what, Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ThrowIfDisposed();
        if (_captureOwner is not null) throw new InvalidOperationException($"Cannot capture {what}: a capture of {_captureOwner} is in progress.");
        _device.BeginCapture();
        _captureOwner = what;
        _pool.FrozenReason = $"device memory cannot be rented or returned during the CUDA graph capture of {what}";
        try
        {
            work();
        }
        catch
        {
            _captureOwner = null;
            _pool.FrozenReason = null;
            try
            {
                _device.EndCapture().Dispose();
            }
            catch (CudaException)
            {
                // The capture was invalidated by the failing call; the original exception says why.
            }
            throw;
        }
        _captureOwner = null;
        _pool.FrozenReason = null;
        return _device.EndCapture();
    }

    /// <summary>
    /// Device memory blocks returned (tensors freed) since the backend was created. A graph records device addresses, so
    /// a caller that keeps graphs re-captures them once this has moved since the capture (a buffer may have been freed
    /// and re-allocated elsewhere).
    /// </summary>
    internal long MemoryReleases => _pool.ReturnCount;

    /// <summary>Queues one replay of <paramref name="graph"/> on the compute stream; the host does not wait.</summary>
    internal void LaunchGraph(CudaGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ThrowIfDisposed();
        _device.LaunchGraph(graph);
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming <paramref name="operation"/> while a capture is in progress.</summary>
    private void ThrowIfCapturing(string operation)
    {
        if (_captureOwner is null) return;
        throw new InvalidOperationException(
            $"CUDA graph capture of {_captureOwner}: {operation} is not allowed while capturing (the graph would bake in memory it does not own, " +
            "or the host would wait on work that is only being recorded). Run the same work once eagerly before capturing, so every buffer exists.");
    }
}
