using System.Runtime.ExceptionServices;

namespace ConvNet.Gpu.Backends.Cpu.Threading;

/// <summary>
/// The CPU backend's persistent worker threads: a lighter replacement for <c>Parallel.For</c> on the small ops of a
/// training step, where <c>Parallel.For</c> costs about 9 µs and 1.5 KB of garbage per call on the 2-core development
/// VM (a thread-pool wake-up and its task objects) while LeNet's ops take 10-300 µs.
/// <para>
/// <see cref="Run"/> hands indices [0, count) to the calling thread (slot 0) and up to Threads - 1 workers (slots 1..),
/// each claiming the next index from a shared counter until none is left, and returns when every index has finished.
/// Which slot runs which index depends on timing, so callers make results independent of it: every index writes its
/// own outputs (or its own partial, combined in index order), and slot numbers only select scratch buffers. The
/// partition (the count and what each index covers) is the caller's and must depend only on the problem and
/// <see cref="Threads"/>, never on how many workers happened to join.
/// </para>
/// <para>
/// Workers spin for a short while after a job (consecutive ops of a step reach them within microseconds), then sleep on
/// a semaphore; a worker asleep for <see cref="IdleExit"/> ends its thread and is restarted by the next job that wants
/// it, so a backend that is never disposed holds no threads for long. Nothing is allocated per call once the workers
/// exist. A job started from inside a job (nested) runs serially on the calling thread as slot 0 of its own.
/// One job at a time: the backend's concurrency guard (issue 14) admits one calling thread per backend. A job started
/// while another thread's job holds the workers (a thread-pool thread inside a job's body, say) runs serially on its
/// caller instead of waiting, so no chain of waits can deadlock; callers whose bodies use per-slot scratch must
/// therefore not start jobs from foreign threads inside a job (the backend's ops never do).
/// </para>
/// </summary>
internal sealed class CpuWorkers : IDisposable
{
    /// <summary>How long a worker spins for the next job before sleeping.</summary>
    public static readonly TimeSpan Spin = TimeSpan.FromMicroseconds(50);

    /// <summary>How long a sleeping worker waits before ending its thread, unless the constructor is told otherwise.</summary>
    public static readonly TimeSpan DefaultIdleExit = TimeSpan.FromSeconds(5);

    private const int Active = 0, Sleeping = 1, Exited = 2;
    private const long Closed = int.MaxValue; // the claim counter of a finished job: no index is below it

    private readonly Worker[] _workers;
    private readonly Lock _dispatch = new();
    [ThreadStatic] private static bool t_insideJob;

    // The current job. _claim = (generation << 32) | next index; a claim succeeds only while the generation matches,
    // so a worker that read an old job can never take an index of a new one.
    private long _claim = Closed;
    private int _count;
    private int _helpers; // workers 1 .. _helpers may take part in the current job
    private int _pending;
    private Action<int, int>? _body;
    private ExceptionDispatchInfo? _failure;
    private volatile bool _disposed;
    private long _jobs;

    /// <summary>
    /// A pool for <paramref name="threads"/> threads in all (the caller included); threads start on first use and end
    /// after <paramref name="idleExit"/> (default <see cref="DefaultIdleExit"/>) without work.
    /// </summary>
    public CpuWorkers(int threads, TimeSpan? idleExit = null)
    {
        if (threads < 1) throw new ConvNetArgumentException($"CpuWorkers needs at least one thread, got {threads}.", nameof(threads));
        IdleExit = idleExit ?? DefaultIdleExit;
        if (IdleExit <= TimeSpan.Zero) throw new ConvNetArgumentException($"CpuWorkers needs a positive idle exit time, got {IdleExit}.", nameof(idleExit));
        Threads = threads;
        _workers = new Worker[threads - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i + 1);
    }

    /// <summary>Threads that can take part in a job, the caller included.</summary>
    public int Threads { get; }

    /// <summary>How long a sleeping worker waits for a job before ending its thread.</summary>
    public TimeSpan IdleExit { get; }

    /// <summary>Worker threads alive now (not counting callers): for tests and profiles.</summary>
    public int LiveThreads => _workers.Count(w => w.IsAlive);

    /// <summary>Jobs handed to the workers so far (serial and nested runs not counted): for profiles.</summary>
    public long JobCount => Interlocked.Read(ref _jobs);

    /// <summary>
    /// Runs <paramref name="body"/>(slot, index) for every index in [0, <paramref name="count"/>) on up to
    /// min(<paramref name="count"/>, <paramref name="maxThreads"/>, <see cref="Threads"/>) threads, slots 0 .. that
    /// minus 1, and returns when all have finished. The first exception thrown by a body is rethrown here, after every
    /// index has finished or been skipped.
    /// </summary>
    public void Run(int count, Action<int, int> body, int maxThreads = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(body);
        int helpers = Math.Min(Math.Min(count, maxThreads), Threads) - 1;
        if (count <= 0) return;
        if (helpers <= 0 || t_insideJob || _disposed)
        {
            RunSerially(count, body);
            return;
        }
        if (!_dispatch.TryEnter())
        {
            RunSerially(count, body); // another thread's job holds the workers: never wait for it (see the remarks)
            return;
        }
        try
        {
            t_insideJob = true;
            try
            {
                Publish(count, body, helpers);
                Work(0, Generation);
                // Wait for indices still running on workers (a preempted worker can hold the last one for a while).
                var spin = new SpinWait();
                while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
                Close();
            }
            finally
            {
                t_insideJob = false;
            }
            var failure = _failure;
            _failure = null;
            failure?.Throw();
        }
        finally
        {
            _dispatch.Exit();
        }
    }

    private static void RunSerially(int count, Action<int, int> body)
    {
        bool outer = !t_insideJob;
        t_insideJob = true;
        try
        {
            for (int i = 0; i < count; i++) body(0, i);
        }
        finally
        {
            if (outer) t_insideJob = false;
        }
    }

    private int Generation => (int)(Volatile.Read(ref _claim) >> 32);

    private void Publish(int count, Action<int, int> body, int helpers)
    {
        int generation = (int)(Volatile.Read(ref _claim) >> 32) + 1;
        _count = count;
        _helpers = helpers;
        _body = body;
        Volatile.Write(ref _pending, count);
        Interlocked.Exchange(ref _claim, (long)generation << 32); // publishes the fields above
        Interlocked.Increment(ref _jobs);
        for (int i = 0; i < helpers; i++) _workers[i].Wake(generation);
    }

    private void Close()
    {
        long claim = Volatile.Read(ref _claim);
        Interlocked.Exchange(ref _claim, claim & ~0xFFFFFFFFL | Closed);
        _body = null;
    }

    /// <summary>Claims and runs indices of job <paramref name="generation"/> until none is left.</summary>
    private void Work(int slot, int generation)
    {
        while (true)
        {
            long claim = Volatile.Read(ref _claim);
            if ((int)(claim >> 32) != generation) return;
            // Read after the claim word: if the claim below succeeds, the job was still open, so these are its values.
            int index = (int)claim, count = Volatile.Read(ref _count);
            if (index >= count || slot > Volatile.Read(ref _helpers)) return;
            if (Interlocked.CompareExchange(ref _claim, claim + 1, claim) != claim) continue;
            // The claim succeeded, so the job is still open (this index has not finished): _body is this job's.
            try
            {
                _body!(slot, index);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>Stops the workers (they finish the job in hand) and waits for their threads to end.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var w in _workers) w.Stop();
    }

    /// <summary>One pool thread, started on first use and after it has ended for idleness.</summary>
    private sealed class Worker(CpuWorkers pool, int slot)
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _state = Exited;
        private int _seen; // the last generation this worker worked on
        private Thread? _thread;

        public bool IsAlive => Volatile.Read(ref _thread)?.IsAlive ?? false;

        /// <summary>Makes sure this worker looks at job <paramref name="generation"/>: wakes it or starts its thread.</summary>
        public void Wake(int generation)
        {
            int state = Volatile.Read(ref _state);
            if (state == Active) return; // spinning: it will see the new generation
            if (state == Sleeping && Interlocked.CompareExchange(ref _state, Active, Sleeping) == Sleeping)
            {
                _wake.Release();
                return;
            }
            if (state == Exited && Interlocked.CompareExchange(ref _state, Active, Exited) == Exited)
            {
                _thread?.Join(); // it has decided to end; let it finish before reusing the slot
                _seen = generation - 1;
                _thread = new Thread(Loop) { IsBackground = true, Name = $"ConvNet CPU worker {slot}" };
                _thread.UnsafeStart();
            }
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _state, Active) == Sleeping) _wake.Release();
            _thread?.Join();
        }

        private void Loop()
        {
            t_insideJob = true;
            while (!pool._disposed)
            {
                int generation = pool.Generation;
                if (generation != _seen)
                {
                    _seen = generation;
                    pool.Work(slot, generation);
                    continue;
                }
                if (SpinFor(generation)) continue;
                // Sleep until woken; the state change and the generation re-check below pair with Wake's, so a job
                // published meanwhile is never missed.
                Interlocked.Exchange(ref _state, Sleeping);
                if (pool.Generation != generation || pool._disposed)
                {
                    if (Interlocked.CompareExchange(ref _state, Active, Sleeping) != Sleeping) _wake.Wait(); // consume the wake-up
                    continue;
                }
                if (_wake.Wait(pool.IdleExit)) continue; // Wake set Active
                if (Interlocked.CompareExchange(ref _state, Exited, Sleeping) == Sleeping) return;
                _wake.Wait(); // woken just as the wait timed out
            }
            Volatile.Write(ref _state, Exited);
        }

        /// <summary>Spins until the generation changes (true) or <see cref="Spin"/> has passed (false).</summary>
        private bool SpinFor(int generation)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(Spin.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                for (int i = 0; i < 32; i++)
                {
                    if (pool.Generation != generation || pool._disposed) return true;
                    Thread.SpinWait(4);
                }
            }
            return false;
        }
    }
}
