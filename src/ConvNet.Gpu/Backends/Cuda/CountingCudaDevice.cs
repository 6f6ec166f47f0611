namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// The device as <see cref="CudaBackend"/> sees it: every call is passed to the wrapped device and counted on the way
/// (<see cref="CudaCounters"/>), so no call site can be missed. Calls recorded into a graph during a capture are not
/// counted as launches; <see cref="LaunchGraph"/> counts the replay and its nodes. Event waits are counted through the
/// events it hands out. Not thread-safe, like the backend it serves.
/// </summary>
internal sealed class CountingCudaDevice(ICudaDevice inner) : ICudaDevice
{
    private long _kernels, _gemms, _memsets, _d2d, _h2d, _d2h, _waits, _graphs, _graphNodes;

    /// <summary>The counts so far.</summary>
    public CudaCounters Counters => new(_kernels, _gemms, _memsets, _d2d, _h2d, _d2h, _waits, _graphs, _graphNodes);

    /// <summary>The device underneath.</summary>
    public ICudaDevice Inner => inner;

    public CudaDeviceInfo Info => inner.Info;
    public bool IsEmulated => inner.IsEmulated;
    public CudaException? StickyError => inner.StickyError;
    public bool AllowTf32 { get => inner.AllowTf32; set => inner.AllowTf32 = value; }
    public bool IsCapturing => inner.IsCapturing;
    public ulong Allocate(long bytes) => inner.Allocate(bytes);
    public void Free(ulong pointer) => inner.Free(pointer);
    public (long Free, long Total) MemoryInfo() => inner.MemoryInfo();
    public nint AllocatePinned(long bytes) => inner.AllocatePinned(bytes);
    public void FreePinned(nint pointer) => inner.FreePinned(pointer);

    public void MemsetD32Async(ulong pointer, uint value, long count)
    {
        if (!inner.IsCapturing && count > 0) _memsets++;
        inner.MemsetD32Async(pointer, value, count);
    }

    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        if (!source.IsEmpty) { _h2d++; _waits++; }
        inner.CopyHostToDevice(destination, source);
    }

    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        if (!destination.IsEmpty) { _d2h++; _waits++; }
        inner.CopyDeviceToHost(destination, source);
    }

    public void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes)
    {
        if (!inner.IsCapturing && bytes > 0) _d2d++;
        inner.CopyDeviceToDeviceAsync(destination, source, bytes);
    }

    public void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream)
    {
        if (bytes > 0 && !(inner.IsCapturing && stream == CudaStream.Compute)) _h2d++;
        inner.CopyHostToDeviceAsync(destination, pinnedSource, bytes, stream);
    }

    public void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream)
    {
        if (bytes > 0 && !(inner.IsCapturing && stream == CudaStream.Compute)) _d2h++;
        inner.CopyDeviceToHostAsync(pinnedDestination, source, bytes, stream);
    }

    public CudaKernel GetKernel(string name) => inner.GetKernel(name);

    public void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args)
    {
        if (!inner.IsCapturing) _kernels++;
        inner.Launch(kernel, grid, block, sharedMemoryBytes, args);
    }

    public void Synchronize()
    {
        _waits++;
        inner.Synchronize();
    }

    public CudaEvent CreateEvent(bool timing = true) => new CountingEvent(this, inner.CreateEvent(timing));

    public void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent) =>
        inner.StreamWaitEvent(stream, cudaEvent is CountingEvent counted ? counted.Inner : cudaEvent);

    public void BeginCapture() => inner.BeginCapture();

    public CudaGraph EndCapture() => inner.EndCapture();

    public void LaunchGraph(CudaGraph graph)
    {
        if (!inner.IsCapturing)
        {
            _graphs++;
            _graphNodes += graph.NodeCount;
        }
        inner.LaunchGraph(graph);
    }

    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        if (!inner.IsCapturing) _gemms++;
        inner.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    public void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA, ulong b,
        int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        if (!inner.IsCapturing) _gemms++;
        inner.SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);
    }

    public void Dispose() => inner.Dispose();

    /// <summary>An event of the wrapped device whose waits are counted as host waits.</summary>
    private sealed class CountingEvent(CountingCudaDevice owner, CudaEvent inner) : CudaEvent
    {
        public CudaEvent Inner => inner;

        protected override void RecordCore(CudaStream stream) => inner.Record(stream);

        protected override bool QueryCore() => inner.IsComplete;

        protected override void SynchronizeCore()
        {
            owner._waits++;
            inner.Synchronize();
        }

        protected override float ElapsedToCore(CudaEvent end) =>
            CudaEvent.ElapsedMilliseconds(inner, end is CountingEvent c ? c.Inner : end);

        protected override void DisposeCore() => inner.Dispose();
    }
}
