using ConvNet.Gpu.Backends.Cpu.Threading;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// The deterministic batch reduction of the weight-gradient passes: work is cut into a fixed number of chunks, each
/// summed into its own partial buffer by whichever worker takes it, and the partials are added in chunk order. The
/// bits depend on the chunking (a function of the batch and the thread count), never on the schedule.
/// </summary>
internal static unsafe class ChunkedSum
{
    /// <summary>Chunks for <paramref name="items"/> items on <paramref name="workers"/> workers: 1 alone, else a few per worker.</summary>
    public static int Chunks(int items, int workers) => workers <= 1 ? 1 : Math.Min(items, 4 * workers);

    /// <summary>
    /// Runs <paramref name="chunk"/>(slot, index) for every chunk index: on the caller for one chunk, else on up to
    /// <paramref name="workers"/> of the backend's persistent workers (slot &lt; workers) pulling indices in turn.
    /// </summary>
    public static void Run(CpuWorkers pool, int workers, int chunks, Action<int, int> chunk)
    {
        if (chunks == 1 || workers <= 1)
        {
            for (int c = 0; c < chunks; c++) chunk(0, c);
            return;
        }
        pool.Run(chunks, chunk, maxThreads: workers);
    }

    /// <summary>Adds partials 1 .. chunks-1, in order, into partial 0 and returns it.</summary>
    public static float* AddInOrder(Func<int, nint> partial, int chunks, long floats)
    {
        float* total = (float*)partial(0);
        for (int c = 1; c < chunks; c++) VectorRuns.Add((float*)partial(c), total, checked((int)floats));
        return total;
    }
}
