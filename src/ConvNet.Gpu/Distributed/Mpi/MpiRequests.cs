using System.Diagnostics;

namespace ConvNet.Gpu.Distributed.Mpi;

/// <summary>
/// A set of outstanding MPI_Isend/MPI_Irecv requests, each tagged with the peer rank it talks to, tested with
/// MPI_Test until all complete or a deadline passes. The receives that are still open at the deadline name the ranks
/// whose data never arrived.
/// </summary>
internal sealed class MpiRequests
{
    private readonly List<(nint Handle, int Peer, bool IsReceive, bool Done)> _requests = [];

    /// <summary>Number of requests not yet complete.</summary>
    public int Open { get; private set; }

    /// <summary>Adds a request returned by MPI_Isend (<paramref name="isReceive"/> false) or MPI_Irecv.</summary>
    public void Add(nint handle, int peer, bool isReceive)
    {
        _requests.Add((handle, peer, isReceive, false));
        Open++;
    }

    /// <summary>Tests every open request once (caller holds the MPI gate); true when all are complete.</summary>
    public bool TestAll()
    {
        for (int i = 0; i < _requests.Count && Open > 0; i++)
        {
            var r = _requests[i];
            if (r.Done) continue;
            nint handle = r.Handle;
            MpiRuntime.Check(MpiNative.MPI_Test(ref handle, out int flag, out var status), "MPI_Test");
            if (flag == 0) continue;
            if (r.IsReceive && status.Error != 0)
                throw new MpiException($"MPI_Irecv from rank {r.Peer}", status.Error, MpiRuntime.ErrorString(status.Error));
            _requests[i] = (handle, r.Peer, r.IsReceive, true);
            Open--;
        }
        return Open == 0;
    }

    /// <summary>The peers of the receives still open, in rank order (then those of open sends, if no receive is open).</summary>
    public IReadOnlyList<int> MissingPeers()
    {
        var receives = _requests.Where(r => !r.Done && r.IsReceive).Select(r => r.Peer).Distinct().Order().ToList();
        return receives.Count > 0 ? receives : _requests.Where(r => !r.Done).Select(r => r.Peer).Distinct().Order().ToList();
    }

    /// <summary>Drops every request (after they all completed).</summary>
    public void Clear()
    {
        _requests.Clear();
        Open = 0;
    }
}

/// <summary>How a waiting rank spends its time: spin-yield for the first milliseconds (latency), then 1 ms sleeps (CPU for the peers).</summary>
internal struct WaitBackoff
{
    private long _idleSince;

    /// <summary>Call after a poll that made no progress.</summary>
    public void Idle()
    {
        long now = Stopwatch.GetTimestamp();
        if (_idleSince == 0) _idleSince = now;
        if (Stopwatch.GetElapsedTime(_idleSince, now).TotalMilliseconds < 2) Thread.Yield();
        else Thread.Sleep(1);
    }

    /// <summary>Call after a poll that made progress.</summary>
    public void Progressed() => _idleSince = 0;
}
