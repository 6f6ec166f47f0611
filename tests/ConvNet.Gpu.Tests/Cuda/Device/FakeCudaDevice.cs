using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>An ICudaDevice that only hands out fake addresses, with a memory limit, for pool tests.</summary>
internal sealed class FakeCudaDevice(long limitBytes) : ICudaDevice
{
    private readonly Dictionary<ulong, long> _live = new();
    private ulong _next = 0x1000_0000;

    public int AllocateCalls { get; private set; }
    public int FreeCalls { get; private set; }
    public long BytesAllocated { get; private set; }

    public CudaDeviceInfo Info { get; } = new(0, "fake", 0, 0, limitBytes, 1, 0, 0, [], IsEmulated: true);
    public bool IsEmulated => true;
    public CudaException? StickyError => null;
    public bool AllowTf32 { get; set; }

    public ulong Allocate(long bytes)
    {
        AllocateCalls++;
        if (BytesAllocated + bytes > limitBytes)
            throw new CudaOutOfMemoryException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", bytes, limitBytes - BytesAllocated, limitBytes);
        ulong pointer = _next;
        _next += (ulong)bytes + 4096;
        _live.Add(pointer, bytes);
        BytesAllocated += bytes;
        return pointer;
    }

    public void Free(ulong pointer)
    {
        FreeCalls++;
        Assert.True(_live.Remove(pointer, out long bytes), $"free of unknown pointer 0x{pointer:X}");
        BytesAllocated -= bytes;
    }

    public (long Free, long Total) MemoryInfo() => (limitBytes - BytesAllocated, limitBytes);
    public void MemsetD32Async(ulong pointer, uint value, long count) => throw new NotSupportedException();
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source) => throw new NotSupportedException();
    public void CopyDeviceToHost(Span<byte> destination, ulong source) => throw new NotSupportedException();
    public void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes) => throw new NotSupportedException();
    public CudaKernel GetKernel(string name) => throw new NotSupportedException();
    public void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args) => throw new NotSupportedException();
    public void Synchronize() { }
    public CudaEvent CreateEvent(bool timing = true) => throw new NotSupportedException();
    public void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent) => throw new NotSupportedException();
    public nint AllocatePinned(long bytes) => throw new NotSupportedException();
    public void FreePinned(nint pointer) => throw new NotSupportedException();
    public void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream) => throw new NotSupportedException();
    public void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream) => throw new NotSupportedException();
    public bool IsCapturing => false;
    public void BeginCapture() => throw new NotSupportedException();
    public CudaGraph EndCapture() => throw new NotSupportedException();
    public void LaunchGraph(CudaGraph graph) => throw new NotSupportedException();
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        throw new NotSupportedException();
    public void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA, ulong b, int ldb,
        long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) => throw new NotSupportedException();
    public void Dispose() { }
}
