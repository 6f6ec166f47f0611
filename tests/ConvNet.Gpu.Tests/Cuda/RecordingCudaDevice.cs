using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// Wraps a real (emulated) device and records what CudaBackend asks of it: kernel launches with their geometry, SGEMM
/// calls with their batch counts, and host-blocking calls. Lets tests check how an op is carried out (one strided-batched
/// GEMM per group, never one per sample; no host syncs inside ops), and inject a launch failure.
/// </summary>
internal sealed class RecordingCudaDevice(ICudaDevice inner) : ICudaDevice
{
    /// <summary>One kernel launch.</summary>
    public sealed record LaunchRecord(string Kernel, Dim3 Grid, Dim3 Block);

    /// <summary>One SGEMM call (batch 1 for plain Sgemm), column-major sizes as passed to cuBLAS.</summary>
    public sealed record GemmRecord(int M, int N, int K, int BatchCount, bool Strided);

    public List<LaunchRecord> Launches { get; } = [];
    public List<GemmRecord> Gemms { get; } = [];

    /// <summary>Synchronize and device-to-host copies: the calls that block the host.</summary>
    public int HostBlockingCalls { get; private set; }

    /// <summary>When set, launching this kernel throws the CudaException a failed launch gives.</summary>
    public string? FailKernel { get; set; }

    public void Clear()
    {
        Launches.Clear();
        Gemms.Clear();
        HostBlockingCalls = 0;
    }

    /// <summary>Report the device as a GPU (IsEmulated false), so CudaBackend autotunes on it (with host-clock event timings).</summary>
    public bool ReportAsGpu { get; init; }

    public CudaDeviceInfo Info => inner.Info;
    public bool IsEmulated => !ReportAsGpu && inner.IsEmulated;
    public CudaException? StickyError => inner.StickyError;
    public bool AllowTf32 { get => inner.AllowTf32; set => inner.AllowTf32 = value; }
    public ulong Allocate(long bytes) => inner.Allocate(bytes);
    public void Free(ulong pointer) => inner.Free(pointer);
    public (long Free, long Total) MemoryInfo() => inner.MemoryInfo();
    public void MemsetD32Async(ulong pointer, uint value, long count) => inner.MemsetD32Async(pointer, value, count);
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source) => inner.CopyHostToDevice(destination, source);

    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        HostBlockingCalls++;
        inner.CopyDeviceToHost(destination, source);
    }

    public void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes) => inner.CopyDeviceToDeviceAsync(destination, source, bytes);
    public CudaKernel GetKernel(string name) => inner.GetKernel(name);

    public void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args)
    {
        Launches.Add(new LaunchRecord(kernel.Name, grid, block));
        if (kernel.Name == FailKernel)
            throw new CudaException("cuLaunchKernel", kernel.Name, 700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered (injected)");
        inner.Launch(kernel, grid, block, sharedMemoryBytes, args);
    }

    public void Synchronize()
    {
        HostBlockingCalls++;
        inner.Synchronize();
    }

    public CudaEvent CreateEvent(bool timing = true) => inner.CreateEvent(timing);
    public void StreamWaitEvent(CudaStream stream, CudaEvent cudaEvent) => inner.StreamWaitEvent(stream, cudaEvent);
    public nint AllocatePinned(long bytes) => inner.AllocatePinned(bytes);
    public void FreePinned(nint pointer) => inner.FreePinned(pointer);

    public void CopyHostToDeviceAsync(ulong destination, nint pinnedSource, long bytes, CudaStream stream) =>
        inner.CopyHostToDeviceAsync(destination, pinnedSource, bytes, stream);

    public void CopyDeviceToHostAsync(nint pinnedDestination, ulong source, long bytes, CudaStream stream) =>
        inner.CopyDeviceToHostAsync(pinnedDestination, source, bytes, stream);

    public bool IsCapturing => inner.IsCapturing;
    public void BeginCapture() => inner.BeginCapture();
    public CudaGraph EndCapture() => inner.EndCapture();
    public void LaunchGraph(CudaGraph graph) => inner.LaunchGraph(graph);

    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        Gemms.Add(new GemmRecord(m, n, k, 1, Strided: false));
        inner.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    public void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA, ulong b, int ldb,
        long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        Gemms.Add(new GemmRecord(m, n, k, batchCount, Strided: true));
        inner.SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);
    }

    public void Dispose() => inner.Dispose();
}
