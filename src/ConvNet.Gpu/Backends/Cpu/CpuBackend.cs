using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using ConvNet.Gpu.Backends.Cpu.Threading;

namespace ConvNet.Gpu.Backends.Cpu;

/// <summary>
/// The CPU backend: multithreaded (persistent workers or Parallel.For over partitioned ranges) and SIMD (AVX-512/AVX2 via
/// System.Runtime.Intrinsics and TensorPrimitives). It is both the reference every CUDA result is
/// checked against and the backend users without a GPU train on. Ops run synchronously.
/// The op families live in the partial files CpuBackend.*.cs.
/// </summary>
public sealed unsafe partial class CpuBackend : BackendBase
{
    private long _bytesInUse;
    private long _peakBytes;
    private long _liveAllocations;

    /// <summary>Creates a CPU backend using <paramref name="threads"/> worker threads (default: all cores).</summary>
    public CpuBackend(int? threads = null)
    {
        int t = threads ?? Environment.ProcessorCount;
        if (t < 1) throw new ConvNetArgumentException($"CpuBackend needs at least one thread, got threads={t}.", nameof(threads));
        Threads = t;
        Parallelism = new ParallelOptions { MaxDegreeOfParallelism = t };
        Workers = new CpuWorkers(t);
    }

    /// <summary>Worker threads used by parallel ops.</summary>
    public int Threads { get; }

    internal ParallelOptions Parallelism { get; }

    /// <summary>
    /// The persistent workers the element-wise, pooling, normalization, loss and optimizer ops and the convolutions'
    /// sample loops run on (a job costs about 2 µs here against about 10 µs for <c>Parallel.For</c>, see
    /// docs/cpu-convolution.md); GEMM and Winograd keep <c>Parallel.For</c> for their large blocks.
    /// </summary>
    internal CpuWorkers Workers { get; }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) Workers.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override string Name => "CPU";

    /// <inheritdoc/>
    public override string Description =>
        $"CPU: {Threads} thread(s), SIMD {SimdDescription}, {RuntimeInformation.ProcessArchitecture}";

    /// <summary>The widest vector instructions in use, e.g. "AVX-512F".</summary>
    public static string SimdDescription =>
        Avx512F.IsSupported ? "AVX-512F" : Avx2.IsSupported && Fma.IsSupported ? "AVX2+FMA" : "Vector128";

    /// <inheritdoc/>
    public override bool IsCuda => false;

    // ------------------------------------------------------------ memory

    /// <inheritdoc/>
    protected override DeviceStorage AllocateStorage(long elementCount) => new CpuStorage(this, elementCount);

    internal void OnAllocated(long bytes)
    {
        long now = Interlocked.Add(ref _bytesInUse, bytes);
        Interlocked.Increment(ref _liveAllocations);
        long peak;
        while (now > (peak = Volatile.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, now, peak) != peak) { }
    }

    internal void OnReleased(long bytes)
    {
        Interlocked.Add(ref _bytesInUse, -bytes);
        Interlocked.Decrement(ref _liveAllocations);
    }

    /// <inheritdoc/>
    public override MemoryStats GetMemoryStats() =>
        new(Volatile.Read(ref _bytesInUse), Volatile.Read(ref _peakBytes), 0, Volatile.Read(ref _liveAllocations));

    /// <summary>The tensor's elements as a span (no copy).</summary>
    internal static Span<float> Span(Tensor t) =>
        ((CpuStorage)t.Storage).Data.AsSpan((int)t.Offset, (int)t.ElementCount);

    /// <summary>An int32 tensor's elements as a span (no copy).</summary>
    internal static Span<int> IntSpan(Tensor t) => MemoryMarshal.Cast<float, int>(Span(t));

    /// <summary>Pointer to the tensor's first element; valid while the tensor lives (storage is pinned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* Ptr(Tensor t) =>
        (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(((CpuStorage)t.Storage).Data)) + t.Offset;

    /// <summary>Pointer to an int32 tensor's first element.</summary>
    internal static int* IntPtr(Tensor t) => (int*)Ptr(t);

    /// <inheritdoc/>
    protected override void UploadCore(Tensor destination, ReadOnlySpan<byte> source) =>
        source.CopyTo(MemoryMarshal.AsBytes(Span(destination)));

    /// <inheritdoc/>
    protected override void DownloadCore(Tensor source, Span<byte> destination) =>
        MemoryMarshal.AsBytes(Span(source)).CopyTo(destination);

    /// <inheritdoc/>
    public override void Synchronize() { }

    /// <inheritdoc/>
    protected override void FillCore(Tensor x, float value) => Span(x).Fill(value);

    /// <inheritdoc/>
    protected override void CopyCore(Tensor source, Tensor destination) => Span(source).CopyTo(Span(destination));
}
