namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// What <c>CudaBackend</c> needs from a CUDA device: memory, copies, kernel launches by name, one stream,
/// events and cuBLAS SGEMM. Two implementations share it: the real driver plus cuBLAS, and the emulated device
/// (host memory, the same kernels compiled for the host, SGEMM from the CPU backend). CudaBackend's own code is
/// identical for both. Device pointers are plain 64-bit addresses. Every call that fails throws
/// <see cref="CudaException"/> naming the call (and the kernel, for launches).
/// All work is queued on the device's single stream in call order; only the *Sync copies and
/// <see cref="Synchronize"/> block the host.
/// A sticky error (an illegal address or another kernel fault: the context is corrupt) is reported once, kept in
/// <see cref="StickyError"/>, and every later call that would do work throws a <see cref="CudaException"/> that quotes it.
/// Releasing never throws after that: <see cref="Free"/> does nothing (the memory goes with the context) and
/// <see cref="IDisposable.Dispose"/> releases every handle it can, so a <c>using</c> block keeps the original exception.
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

    /// <summary>Queues a fill of <paramref name="count"/> 32-bit words at <paramref name="pointer"/> with <paramref name="value"/>.</summary>
    void MemsetD32Async(ulong pointer, uint value, long count);

    /// <summary>Copies host bytes to the device; returns when the copy is complete (ordered after queued work).</summary>
    void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source);

    /// <summary>Waits for queued work, then copies device bytes to the host.</summary>
    void CopyDeviceToHost(Span<byte> destination, ulong source);

    /// <summary>Queues a device-to-device copy.</summary>
    void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes);

    /// <summary>Looks up a kernel of the embedded module by its extern "C" name.</summary>
    CudaKernel GetKernel(string name);

    /// <summary>Queues a kernel launch; the argument list must match the kernel's parameters in count and sizes.</summary>
    void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args);

    /// <summary>Blocks until all queued work has finished; reports sticky errors (e.g. an illegal address) as <see cref="CudaException"/>.</summary>
    void Synchronize();

    /// <summary>Creates an event for timing on the device's stream.</summary>
    CudaEvent CreateEvent();

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
