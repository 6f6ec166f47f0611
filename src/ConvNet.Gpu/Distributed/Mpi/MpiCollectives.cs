using System.Buffers;
using System.Diagnostics;

namespace ConvNet.Gpu.Distributed.Mpi;

/// <summary>
/// Collectives over Open MPI for host memory. The transport is MPI point-to-point (MPI_Isend/MPI_Irecv, tested with
/// MPI_Test against a deadline); the algorithms on top are fixed so that results are deterministic and a missing rank
/// can be named:
/// <list type="bullet">
/// <item>all-reduce = reduce-scatter then all-gather by direct exchange: rank r owns chunk r of the buffer, receives
/// chunk r from every peer, adds the N contributions in rank order (float64, one rounding), and sends the reduced chunk
/// back to every peer. Each rank sends and receives 2(N-1)/N of the buffer, the bandwidth term of a ring all-reduce,
/// as 2(N-1) concurrent messages instead of the ring's 2(N-1) sequential steps.</item>
/// <item>all-gather of bytes = lengths (as 4 bytes) first, then the payloads, by direct exchange.</item>
/// </list>
/// One instance per process: MPI is initialized on creation and finalized by <see cref="Dispose"/> (unless a
/// collective failed, when finalizing could block; then end the process, e.g. with <see cref="Abort"/>).
/// </summary>
public sealed class MpiCollectives : ICollectives
{
    private const int TagPhases = 4;
    private const int TagSequences = 8192; // tags stay below 32768, the smallest MPI_TAG_UB the standard allows

    private readonly MpiRuntime _mpi;
    private int _sequence;
    private bool _disposed;

    private MpiCollectives(MpiRuntime mpi, TimeSpan timeout)
    {
        _mpi = mpi;
        Timeout = timeout;
    }

    /// <summary>Initializes MPI (first call in the process) and returns the collectives of MPI_COMM_WORLD.</summary>
    /// <param name="timeout">How long one collective may wait (default 5 minutes).</param>
    /// <exception cref="CollectivesUnavailableException">Open MPI's libmpi.so.40 cannot be loaded.</exception>
    /// <exception cref="MpiException">MPI initialization failed.</exception>
    public static MpiCollectives Create(TimeSpan? timeout = null) =>
        new(MpiRuntime.Initialize(), timeout ?? TimeSpan.FromMinutes(5));

    /// <summary>Why MPI cannot be used in this process, or null when it can (does not initialize MPI).</summary>
    public static string? UnavailableReason() => MpiRuntime.UnavailableReason();

    /// <inheritdoc/>
    public int Rank => _mpi.Rank;

    /// <inheritdoc/>
    public int WorldSize => _mpi.Size;

    /// <inheritdoc/>
    public string Description => $"MPI ({_mpi.Version}, {_mpi.LibraryPath}), rank {Rank} of {WorldSize}";

    /// <inheritdoc/>
    public TimeSpan Timeout { get; set; }

    /// <summary>
    /// When cancelled (e.g. by SIGTERM from mpirun, which stops every rank once one has died), a waiting collective
    /// gives up at once with a <see cref="CollectiveException"/> naming the ranks it was waiting for.
    /// </summary>
    public CancellationToken WaitCancellation { get; set; }

    /// <summary>Set when a collective failed or timed out: the exchange state is lost and the collectives refuse further work.</summary>
    public CollectiveException? Failure { get; private set; }

    internal MpiRuntime Runtime => _mpi;

    /// <inheritdoc/>
    public byte[][] AllGather(ReadOnlySpan<byte> local, string operation)
    {
        ThrowIfUnusable();
        var result = new byte[WorldSize][];
        result[Rank] = local.ToArray();
        if (WorldSize == 1) return result;
        var deadline = Stopwatch.StartNew();

        // Lengths first, then payloads: a peer's buffer must be sized before its bytes can be received.
        var lengths = new int[WorldSize];
        lengths[Rank] = local.Length;
        int tag = NextTag();
        using (var pin = new Memory<int>(lengths).Pin())
            Exchange(operation + " (lengths)", tag, (requests, peer) =>
            {
                unsafe
                {
                    int* p = (int*)pin.Pointer;
                    Post(requests, MpiNative.MPI_Irecv(p + peer, sizeof(int), _mpi.ByteType, peer, tag, _mpi.World, out nint r), r, peer, true, "MPI_Irecv");
                    Post(requests, MpiNative.MPI_Isend(p + Rank, sizeof(int), _mpi.ByteType, peer, tag, _mpi.World, out nint s), s, peer, false, "MPI_Isend");
                }
            }, deadline);

        for (int peer = 0; peer < WorldSize; peer++)
            if (peer != Rank) result[peer] = new byte[lengths[peer]];
        tag = NextTag();
        var pins = result.Select(b => new Memory<byte>(b).Pin()).ToArray();
        try
        {
            Exchange(operation, tag, (requests, peer) =>
            {
                unsafe
                {
                    Post(requests, MpiNative.MPI_Irecv(pins[peer].Pointer, lengths[peer], _mpi.ByteType, peer, tag, _mpi.World, out nint r), r, peer, true, "MPI_Irecv");
                    Post(requests, MpiNative.MPI_Isend(pins[Rank].Pointer, lengths[Rank], _mpi.ByteType, peer, tag, _mpi.World, out nint s), s, peer, false, "MPI_Isend");
                }
            }, deadline);
        }
        finally
        {
            foreach (var p in pins) p.Dispose();
        }
        return result;
    }

    /// <inheritdoc/>
    public IPendingReduction StartAllReduceSum(Memory<float> buffer, string operation)
    {
        ThrowIfUnusable();
        return new MpiAllReduce(this, buffer, operation, NextTag());
    }

    /// <summary>
    /// Ends every rank of the job now (MPI_Abort): the launcher stops the others and exits with
    /// <paramref name="exitCode"/>. For use after a collective failed.
    /// </summary>
    public void Abort(int exitCode) => _mpi.Abort(exitCode);

    /// <summary>Finalizes MPI when every collective completed; after a failure it leaves MPI as it is (finalizing could block).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (Failure is null && !_mpi.Finalized) _mpi.Shutdown();
    }

    /// <summary>The first tag of the next operation; every rank draws tags in the same order.</summary>
    internal int NextTag() => (_sequence++ % TagSequences) * TagPhases;

    internal void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Failure is not null)
            throw new CollectiveException($"Rank {Rank}: the collectives failed earlier and cannot be used again ({Failure.Message})", Failure);
    }

    internal CollectiveException Fail(CollectiveException e)
    {
        Failure ??= e;
        return e;
    }

    internal static void Post(MpiRequests requests, int code, nint handle, int peer, bool isReceive, string call)
    {
        MpiRuntime.Check(code, $"{call} ({(isReceive ? "from" : "to")} rank {peer})");
        requests.Add(handle, peer, isReceive);
    }

    // Posts one receive and one send per peer with 'post', then tests until all complete or the deadline passes.
    private void Exchange(string operation, int tag, Action<MpiRequests, int> post, Stopwatch clock)
    {
        var requests = new MpiRequests();
        try
        {
            lock (_mpi.Gate)
                for (int peer = 0; peer < WorldSize; peer++)
                    if (peer != Rank) post(requests, peer);
            WaitAll(requests, operation, clock);
        }
        catch (CollectiveException e)
        {
            throw Fail(e);
        }
    }

    internal void WaitAll(MpiRequests requests, string operation, Stopwatch clock)
    {
        var backoff = new WaitBackoff();
        while (true)
        {
            int before = requests.Open;
            bool done;
            lock (_mpi.Gate) done = requests.TestAll();
            if (done) return;
            if (clock.Elapsed > Timeout) throw new CollectiveTimeoutException(operation, Rank, requests.MissingPeers(), Timeout);
            ThrowIfWaitCancelled(operation, requests);
            if (requests.Open < before) backoff.Progressed(); else backoff.Idle();
        }
    }

    internal void ThrowIfWaitCancelled(string operation, MpiRequests requests)
    {
        if (WaitCancellation.IsCancellationRequested)
            throw new CollectiveException(
                $"Rank {Rank}: interrupted (SIGTERM or Ctrl-C) while {operation} waited for rank(s) {string.Join(", ", requests.MissingPeers())}; " +
                "mpirun stops every rank when one has failed or died. Resume from the last checkpoint.");
    }

    /// <summary>Rents a float scratch array for reductions.</summary>
    internal static float[] Rent(int length) => ArrayPool<float>.Shared.Rent(Math.Max(length, 1));

    internal static void Return(float[] array) => ArrayPool<float>.Shared.Return(array);
}
