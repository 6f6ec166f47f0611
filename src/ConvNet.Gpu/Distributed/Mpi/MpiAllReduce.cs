using System.Buffers;
using System.Diagnostics;

namespace ConvNet.Gpu.Distributed.Mpi;

/// <summary>
/// One in-place all-reduce (sum) of a float buffer as a two-phase state machine, advanced by <see cref="Poll"/>:
/// <list type="number">
/// <item>reduce-scatter: the buffer of n floats is cut into N chunks, chunk r = [floor(r n / N), floor((r+1) n / N));
/// every rank sends chunk p to rank p and receives its own chunk from every peer;</item>
/// <item>once all arrived, the owner adds the N contributions of each element in rank order (0, 1, ..., N-1) in
/// float64 and rounds once, then sends its reduced chunk to every peer and receives theirs in place.</item>
/// </list>
/// So every element is summed in the same order on every run and every rank ends with the same bits. The buffer is
/// pinned from start to completion.
/// </summary>
internal sealed class MpiAllReduce : IPendingReduction
{
    private readonly MpiCollectives _owner;
    private readonly int _rank, _size, _tag;
    private readonly int[] _start; // chunk p is [_start[p], _start[p + 1])
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private MemoryHandle _pin;
    private float[]? _received; // (N-1) slots of the own chunk's length, peer order skipping this rank
    private MemoryHandle _receivedPin;
    private readonly MpiRequests _requests = new();
    private int _phase; // 1 reduce-scatter, 2 all-gather, 3 done
    private readonly int _length;

    public MpiAllReduce(MpiCollectives owner, Memory<float> buffer, string operation, int tag)
    {
        _owner = owner;
        Operation = operation;
        _rank = owner.Rank;
        _size = owner.WorldSize;
        _tag = tag;
        _length = buffer.Length;
        _start = new int[_size + 1];
        for (int p = 0; p <= _size; p++) _start[p] = (int)((long)p * _length / _size);
        if (_size == 1)
        {
            _phase = 3;
            return;
        }
        _pin = buffer.Pin();
        int own = ChunkLength(_rank);
        _received = MpiCollectives.Rent(own * (_size - 1));
        _receivedPin = new Memory<float>(_received).Pin();
        try
        {
            PostReduceScatter();
            _phase = 1;
        }
        catch (CollectiveException e)
        {
            Release();
            throw owner.Fail(e);
        }
    }

    public string Operation { get; }

    private int ChunkLength(int p) => _start[p + 1] - _start[p];

    private int Slot(int peer) => peer < _rank ? peer : peer - 1;

    private unsafe void PostReduceScatter()
    {
        float* data = (float*)_pin.Pointer, received = (float*)_receivedPin.Pointer;
        var mpi = _owner.Runtime;
        int own = ChunkLength(_rank);
        lock (mpi.Gate)
            for (int peer = 0; peer < _size; peer++)
            {
                if (peer == _rank) continue;
                MpiCollectives.Post(_requests, MpiNative.MPI_Irecv(received + (long)Slot(peer) * own, own, mpi.FloatType, peer, _tag, mpi.World, out nint r), r, peer, true, "MPI_Irecv");
                MpiCollectives.Post(_requests, MpiNative.MPI_Isend(data + _start[peer], ChunkLength(peer), mpi.FloatType, peer, _tag, mpi.World, out nint s), s, peer, false, "MPI_Isend");
            }
    }

    private unsafe void ReduceOwnChunkAndPostAllGather()
    {
        float* data = (float*)_pin.Pointer, received = (float*)_receivedPin.Pointer;
        int own = ChunkLength(_rank), first = _start[_rank];
        for (int i = 0; i < own; i++)
        {
            double sum = 0;
            for (int r = 0; r < _size; r++) sum += r == _rank ? data[first + i] : received[(long)Slot(r) * own + i];
            data[first + i] = (float)sum;
        }
        _requests.Clear();
        var mpi = _owner.Runtime;
        int tag = _tag + 1;
        lock (mpi.Gate)
            for (int peer = 0; peer < _size; peer++)
            {
                if (peer == _rank) continue;
                MpiCollectives.Post(_requests, MpiNative.MPI_Irecv(data + _start[peer], ChunkLength(peer), mpi.FloatType, peer, tag, mpi.World, out nint r), r, peer, true, "MPI_Irecv");
                MpiCollectives.Post(_requests, MpiNative.MPI_Isend(data + first, own, mpi.FloatType, peer, tag, mpi.World, out nint s), s, peer, false, "MPI_Isend");
            }
    }

    public bool Poll()
    {
        if (_phase == 3) return true;
        _owner.ThrowIfUnusable();
        try
        {
            bool done;
            lock (_owner.Runtime.Gate) done = _requests.TestAll();
            if (!done)
            {
                if (_clock.Elapsed > _owner.Timeout)
                    throw new CollectiveTimeoutException($"{Operation} ({(_phase == 1 ? "reduce-scatter" : "all-gather")} phase)", _rank,
                        _requests.MissingPeers(), _owner.Timeout);
                _owner.ThrowIfWaitCancelled(Operation, _requests);
                return false;
            }
            if (_phase == 1)
            {
                ReduceOwnChunkAndPostAllGather();
                _phase = 2;
                return false;
            }
            _phase = 3;
            Release();
            return true;
        }
        catch (CollectiveException e)
        {
            // Leave the buffers pinned: MPI may still write into them.
            throw _owner.Fail(e);
        }
    }

    public void Wait()
    {
        var backoff = new WaitBackoff();
        while (true)
        {
            int open = _requests.Open, phase = _phase;
            if (Poll()) return;
            if (_requests.Open < open || _phase != phase) backoff.Progressed(); else backoff.Idle();
        }
    }

    private void Release()
    {
        _pin.Dispose();
        _receivedPin.Dispose();
        if (_received is not null) MpiCollectives.Return(_received);
        _received = null;
    }
}
