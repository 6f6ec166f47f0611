using System.Runtime.CompilerServices;
namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Splits [0, count) into contiguous ranges and runs them on the backend's persistent workers (<see cref="CpuBackend.Workers"/>), or inline on the
/// caller when the work is too small for threading to pay (LeNet-sized batches would otherwise be dominated by
/// scheduling overhead). Each range is written by exactly one worker, and every caller partitions only over
/// independent outputs, so results never depend on the thread count or on scheduling.
/// </summary>
internal static class CpuParallel
{
    /// <summary>Below this many elements of work an op runs on the calling thread.</summary>
    public const long MinParallelWork = 32 * 1024;

    /// <summary>Smallest amount of work (in elements) handed to one worker.</summary>
    public const long MinChunkWork = 16 * 1024;

    /// <summary>Chunks per worker thread: a little over-partitioning evens out noisy cores.</summary>
    private const int ChunksPerThread = 4;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over disjoint ranges covering [0, <paramref name="count"/>).
    /// <paramref name="workPerItem"/> is the approximate number of elements touched per item, used only to decide
    /// whether and how finely to split.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void For(CpuBackend backend, int count, long workPerItem, Action<int, int> body)
    {
        if (count <= 0) return;
        long total = count * Math.Max(1L, workPerItem);
        int threads = backend.Threads;
        if (threads <= 1 || count == 1 || total < MinParallelWork)
        {
            body(0, count);
            return;
        }

        long byWork = Math.Max(1L, total / MinChunkWork);
        int chunks = (int)Math.Min(Math.Min(count, byWork), (long)threads * ChunksPerThread);
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }

        backend.Workers.Run(chunks, (_, chunk) =>
        {
            int start = (int)((long)count * chunk / chunks);
            int end = (int)((long)count * (chunk + 1) / chunks);
            if (end > start) body(start, end);
        });
    }

    /// <summary>
    /// Element-wise variant: splits [0, <paramref name="length"/>) into ranges whose starts are multiples of 64
    /// elements (whole cache lines, whole vectors), so SIMD loops see aligned-size blocks and the same element
    /// always lands in the same lane position relative to its block start.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForElements(CpuBackend backend, int length, Action<int, int> body)
    {
        const int Block = 64;
        if (length <= 0) return;
        if (backend.Threads <= 1 || length < MinParallelWork)
        {
            body(0, length);
            return;
        }

        int blocks = (length + Block - 1) / Block;
        For(backend, blocks, Block, (b0, b1) => body(b0 * Block, Math.Min(length, b1 * Block)));
    }
}
