using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Worker threads that make an epoch's batches ahead of the consumer. The ring has depth = prefetch + 1 slots (one being
/// consumed, prefetch ready ahead); batch b goes into slot b % depth. A worker takes the next batch index in order, waits
/// until the consumer has released batch b - depth (the slot's previous user), fills the slot, and publishes it. The
/// consumer takes batches strictly in order and releases each one before asking for the next, so at most prefetch
/// batches are made ahead of the one in use and a slot is never written while it is being read.
/// </summary>
/// <remarks>
/// Every batch's contents depend only on its index, so the result does not depend on which worker made it or when.
/// A worker's exception is kept and rethrown (with its original stack) by <see cref="Take"/> for that batch or any later
/// one. <see cref="Dispose"/> stops the workers and joins them; a worker blocked on a full ring wakes up and exits.
/// </remarks>
internal sealed class BatchPrefetcher : IDisposable
{
    private readonly BatchAssembler _assembler;
    private readonly BatchAssembler.Slot[] _slots;
    private readonly DataBatch?[] _ready;
    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly int _end, _depth;
    private int _next, _released, _waited;
    private ExceptionDispatchInfo? _error;
    private int _errorBatch = int.MaxValue;
    private bool _stopping;
    private readonly Stopwatch _waiting = new();
    private readonly int _start;

    public BatchPrefetcher(BatchAssembler assembler, int start, int end, int workers, int prefetch)
    {
        _assembler = assembler;
        _start = _next = _released = start;
        _end = end;
        int depth = _depth = prefetch + 1;
        _slots = new BatchAssembler.Slot[depth];
        for (int i = 0; i < depth; i++) _slots[i] = assembler.NewSlot();
        _ready = new DataBatch?[depth];
        _threads = new Thread[Math.Min(workers, Math.Max(1, end - start))];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"convnet-data-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>The consumer's waits so far.</summary>
    public PipelineStatistics Statistics => new(_released - _start, _waited, _waiting.Elapsed);

    /// <summary>Batch <paramref name="b"/> (the next in order), waiting for a worker to finish it when needed.</summary>
    public DataBatch Take(int b)
    {
        lock (_gate)
        {
            if (_ready[b % _depth] is null && b > _start) _waited++;
            _waiting.Start();
            while (_ready[b % _depth] is null && _errorBatch > b) Monitor.Wait(_gate);
            _waiting.Stop();
            if (_ready[b % _depth] is { } batch) return batch;
            _error!.Throw();
            throw new UnreachableException();
        }
    }

    /// <summary>Hands batch <paramref name="b"/>'s slot back for batch b + depth.</summary>
    public void Release(int b)
    {
        lock (_gate)
        {
            _ready[b % _depth] = null;
            _released = b + 1;
            Monitor.PulseAll(_gate);
        }
    }

    private void Work()
    {
        var sample = new TransformSample();
        while (true)
        {
            int b;
            lock (_gate)
            {
                if (_stopping || _next >= _end || _error is not null) return;
                b = _next++;
                // The slot's previous user, batch b - depth, must have been released.
                while (!_stopping && b - _depth >= _released) Monitor.Wait(_gate);
                if (_stopping) return;
            }
            try
            {
                var batch = _assembler.Fill(b, _slots[b % _depth], sample);
                lock (_gate)
                {
                    _ready[b % _depth] = batch;
                    Monitor.PulseAll(_gate);
                }
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    if (b < _errorBatch)
                    {
                        _error = ExceptionDispatchInfo.Capture(e);
                        _errorBatch = b;
                    }
                    Monitor.PulseAll(_gate);
                }
                return;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _threads) t.Join();
    }
}
