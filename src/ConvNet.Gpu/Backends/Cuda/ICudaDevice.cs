namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// What <c>CudaBackend</c> needs from a CUDA device: memory (device and page-locked host), copies, kernel launches by
/// name, two streams, events, CUDA Graph capture and replay, and cuBLAS SGEMM. Two implementations share it: the real
/// driver plus cuBLAS, and the emulated device (host memory, the same kernels compiled for the host, SGEMM from the CPU
/// backend). CudaBackend's own code is identical for both. Device pointers are plain 64-bit addresses; pinned host
/// buffers are native addresses. Every call that fails throws <see cref="CudaException"/> naming the call (and the
/// kernel, for launches).
/// <para>
/// Streams: kernels, SGEMM, memsets and device-to-device copies are queued on <see cref="CudaStream.Compute"/> in call
/// order; the asynchronous copies name their stream (<see cref="CudaStream.Copy"/> lets host-to-device uploads overlap
/// compute). Ordering between the two streams is only what events say (<see cref="StreamWaitEvent"/>). The emulated device
/// runs everything synchronously, which is one of the orders the real device may choose.
/// </para>
/// <para>
/// Blocking: only <see cref="CopyHostToDevice"/>, <see cref="CopyDeviceToHost"/>, <see cref="Synchronize"/> and
/// <see cref="CudaEvent.Synchronize"/> make the host wait; everything else only queues.
/// </para>
/// <para>
/// Graphs: between <see cref="BeginCapture"/> and <see cref="EndCapture"/> the compute stream records instead of
/// running: launches, SGEMM, memsets and device-to-device copies become nodes of a graph that
/// <see cref="LaunchGraph"/> replays with the same arguments (the same device addresses and scalar values). Calls that
/// would allocate or block (<see cref="Allocate"/>, <see cref="Free"/>, the blocking copies, <see cref="Synchronize"/>)
/// fail during capture with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidate it, as the driver's thread-local capture
/// mode does.
/// </para>
/// <para>
/// Sticky errors: a sticky error (an illegal address or another kernel fault: the context is corrupt) is reported once,
/// kept in <see cref="StickyError"/>, and every later call that would do work throws a <see cref="CudaException"/> that
/// quotes it. Releasing never throws after that: <see cref="Free"/> and <see cref="FreePinned"/> do nothing (the memory
/// goes with the context) and <see cref="IDisposable.Dispose"/> releases every handle it can, so a <c>using</c> block
/// keeps the original exception.
/// </para>
/// </summary>
internal interface ICudaDevice : IDisposable
{
    /// <summary>Static facts about the device (name, compute capability, memory, versions).</summary>
    CudaDeviceInfo Info { get; }

    /// <summary>True for the emulated device.</summary>
    bool IsEmulated { get; }

    /// <summary>The first sticky error of this context (also one first seen while disposing), or null.</summary>
    CudaException? StickyError { get; }

    /// <summary>Allocates <paramref name="bytes"/> of device memory (uninitialized). Throws <see cref="CudaOutOfMemoryException"/> when it does not fit.</summary>
    ulong Allocate(long bytes);

    /// <summary>Frees memory returned by <see cref="Allocate"/>. After a sticky error it does nothing and never throws.</summary>
    void Free(ulong pointer);

    /// <summary>(free, total) device memory in bytes.</summary>
    (long Free, long Total) MemoryInfo();

    /// <summary>
    /// Allocates <paramref name="bytes"/> of page-locked host memory (cuMemHostAlloc), which the device reads and writes
    /// directly, so copies from and to it are truly asynchronous. Returns its host address; free it with <see cref="FreePinned"/>.
    /// </summary>
    nint AllocatePinned(long bytes);

    /// <summary>Frees memory returned by <see cref="AllocatePinned"/> (the caller makes sure no queued copy still uses it).</summary>
    void FreePinned(nint pointer);

    /// <summary>Queues a fill of <paramref name="count"/> 32-bit words at <paramref name="pointer"/> with <paramref name="value"/>.</summary>
    void MemsetD32Async(ulong pointer, uint value, long count);

    /// <summary>Copies host bytes to the device; returns when the copy is complete (ordered after queued work).</summary>
    void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source);

    /// <summary>Waits for queued work, then copies device bytes to the host.</summary>
    void CopyDeviceToHost(Span<byte> destination, ulong source);

    /// <summary>Queues a device-to-device copy.</summary>
    void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes);

    /// <summary>
    /// Queues a copy of <paramref name="bytes"/> from pinned host memory (<see cref="AllocatePinned"/>) to the device on
    /// <paramref name="stream"/> and returns at once: the source must stay unchanged until the copy has run (record an event after it).
    /// </summary>
    void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream);

    /// <summary>
    /// Queues a copy of <paramref name="bytes"/> from the device to pinned host memory on <paramref name="stream"/> and
    /// returns at once: the destination holds the data once an event recorded after the copy has completed.
    /// </summary>
    void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream);

    /// <summary>Looks up a kernel of the embedded module by its extern "C" name.</summary>
    CudaKernel GetKernel(string name);

    /// <summary>Queues a kernel launch; the argument list must match the kernel's parameters in count and sizes.</summary>
    void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args);

    /// <summary>Blocks until all work queued on both streams has finished; reports sticky errors (e.g. an illegal address) as <see cref="CudaException"/>.</summary>
    void Synchronize();

    /// <summary>
    /// Creates an event. With <paramref name="timing"/> it can measure elapsed time; without, it is a lighter
    /// ordering marker (cuEventCreate with CU_EVENT_DISABLE_TIMING) for <see cref="StreamWaitEvent"/> and completion queries.
    /// </summary>
    CudaEvent CreateEvent(bool timing = true);

    /// <summary>Makes later work queued on <paramref name="stream"/> wait until <paramref name="cudaEvent"/> (recorded on either stream) has completed; the host does not wait.</summary>
    void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent);

    /// <summary>
    /// Starts recording the compute stream into a graph: from now until <see cref="EndCapture"/>, launches, SGEMM,
    /// memsets and device-to-device copies are recorded, not run. Throws when a capture is already in progress.
    /// </summary>
    void BeginCapture();

    /// <summary>
    /// Ends the capture and returns the instantiated, launchable graph. Throws (CUDA_ERROR_STREAM_CAPTURE_INVALIDATED)
    /// when a call during the capture was not allowed; the capture is over either way.
    /// </summary>
    CudaGraph EndCapture();

    /// <summary>Whether a capture is in progress.</summary>
    bool IsCapturing { get; }

    /// <summary>Queues one replay of <paramref name="graph"/> on the compute stream (cuGraphLaunch).</summary>
    void LaunchGraph(CudaGraph graph);

    /// <summary>Whether cuBLAS may use TF32 tensor cores for SGEMM (off by default).</summary>
    bool AllowTf32 { get; set; }

    /// <summary>
    /// Column-major cuBLAS SGEMM on the stream: C(m x n, ldc) = alpha * op(A) * op(B) + beta * C.
    /// Row-major callers swap operands (C^T = B^T A^T).
    /// </summary>
    void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb,
        float beta, ulong c, int ldc);

    /// <summary>Column-major strided-batched SGEMM (strides in elements).</summary>
    void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount);
}

/// <summary>The device's two streams.</summary>
internal enum CudaStream
{
    /// <summary>Kernels, SGEMM, memsets, device-to-device copies, and everything a graph records.</summary>
    Compute,

    /// <summary>Host-to-device uploads that overlap compute (the input pipeline); ordered with compute by events only.</summary>
    Copy,
}
