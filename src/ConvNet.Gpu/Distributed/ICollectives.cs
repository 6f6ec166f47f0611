namespace ConvNet.Gpu.Distributed;

/// <summary>
/// The collectives data-parallel training needs, behind one small interface. Every rank must call the same
/// operations in the same order with the same sizes; each operation waits at most <see cref="Timeout"/> and then
/// throws <see cref="CollectiveTimeoutException"/> naming the ranks that did not contribute.
/// Implementations: <see cref="SingleProcessCollectives"/> (the default world of 1, which does nothing) and
/// <see cref="Mpi.MpiCollectives"/> (Open MPI, host memory). CUDA tensors use <see cref="Nccl.NcclCommunicator"/>,
/// bootstrapped through these collectives.
/// </summary>
/// <remarks>
/// Reductions are deterministic by construction: element i of the result is the sum of the ranks' values added in
/// rank order 0, 1, ..., N-1 in float64 and rounded once to float32, whatever the transport does, so every rank holds
/// the same bits and two runs with the same world size give the same bits. Not thread-safe: one caller at a time.
/// </remarks>
public interface ICollectives : IDisposable
{
    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> - 1.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>The engine and its library, e.g. "MPI (Open MPI v4.1.4, libmpi.so.40), rank 0 of 2".</summary>
    string Description { get; }

    /// <summary>How long one collective may wait for the other ranks before failing (default 5 minutes).</summary>
    TimeSpan Timeout { get; set; }

    /// <summary>
    /// Every rank's <paramref name="local"/> bytes, indexed by rank (lengths may differ between ranks). Blocks until
    /// all have arrived. <paramref name="operation"/> names the call in errors.
    /// </summary>
    byte[][] AllGather(ReadOnlySpan<byte> local, string operation);

    /// <summary>
    /// Starts an in-place sum of <paramref name="buffer"/> over all ranks and returns at once; the buffer must stay
    /// untouched until the returned reduction completes. Every rank passes the same length.
    /// </summary>
    IPendingReduction StartAllReduceSum(Memory<float> buffer, string operation);
}

/// <summary>An all-reduce in flight (see <see cref="ICollectives.StartAllReduceSum"/>).</summary>
public interface IPendingReduction
{
    /// <summary>What is being reduced (used in errors).</summary>
    string Operation { get; }

    /// <summary>Makes progress without blocking; true once the buffer holds the sum.</summary>
    /// <exception cref="CollectiveTimeoutException">The deadline passed.</exception>
    bool Poll();

    /// <summary>Blocks until the buffer holds the sum, or the deadline passes.</summary>
    /// <exception cref="CollectiveTimeoutException">The deadline passed.</exception>
    void Wait();
}

/// <summary>Blocking helpers over <see cref="ICollectives"/>.</summary>
public static class CollectivesExtensions
{
    /// <summary>Sums <paramref name="buffer"/> in place over all ranks (deterministic, see <see cref="ICollectives"/>).</summary>
    public static void AllReduceSum(this ICollectives collectives, Memory<float> buffer, string operation)
    {
        ArgumentNullException.ThrowIfNull(collectives);
        collectives.StartAllReduceSum(buffer, operation).Wait();
    }

    /// <summary>
    /// Rank <paramref name="root"/>'s bytes on every rank (an all-gather in which only the root's entry is kept; the
    /// others send nothing). Used to hand out NCCL's unique id.
    /// </summary>
    public static byte[] Broadcast(this ICollectives collectives, ReadOnlySpan<byte> rootBytes, int root, string operation)
    {
        ArgumentNullException.ThrowIfNull(collectives);
        if ((uint)root >= (uint)collectives.WorldSize)
            throw new ConvNetArgumentException($"Broadcast root {root} is outside [0, {collectives.WorldSize}).", nameof(root));
        return collectives.AllGather(collectives.Rank == root ? rootBytes : [], operation)[root];
    }
}
