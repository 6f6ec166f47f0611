namespace ConvNet.Gpu;

/// <summary>
/// Detects overlapping use of one object from two threads: <see cref="Enter"/> claims the object for the calling
/// thread (re-entrantly) and the returned scope releases it; a second thread that enters while it is claimed gets a
/// <see cref="ConcurrentUseException"/> naming both threads and both calls, before it does any work. The first
/// thread is never disturbed. Sequential use from different threads (one call after the other) is fine.
/// </summary>
/// <remarks>
/// Cost: one interlocked compare-exchange to enter and one volatile write to leave (about 10-20 ns uncontended),
/// negligible next to an op. The owner's name and call are recorded for the message only.
/// </remarks>
internal sealed class ConcurrencyGuard(Func<string> describeResource)
{
    private int _owner;             // managed thread id of the holder, 0 when free
    private int _depth;             // re-entrant depth; touched only by the holder
    private string _operation = ""; // the holder's outermost call, for messages
    private string? _ownerName;

    /// <summary>Claims the guarded object for the current thread until the scope is disposed.</summary>
    /// <exception cref="ConcurrentUseException">Another thread holds it.</exception>
    public Scope Enter(string operation)
    {
        int me = Environment.CurrentManagedThreadId;
        int holder = Interlocked.CompareExchange(ref _owner, me, 0);
        if (holder == 0)
        {
            _operation = operation;
            _ownerName = Thread.CurrentThread.Name;
        }
        else if (holder != me)
        {
            string ownerOperation = _operation, ownerName = Describe(holder, Volatile.Read(ref _owner) == holder ? _ownerName : null);
            throw new ConcurrentUseException(describeResource(), operation, ownerOperation, ownerName, Describe(me, Thread.CurrentThread.Name));
        }
        _depth++;
        return new Scope(this);
    }

    private void Exit()
    {
        if (--_depth == 0) Volatile.Write(ref _owner, 0);
    }

    private static string Describe(int id, string? name) => name is null ? $"thread {id}" : $"thread {id} '{name}'";

    /// <summary>Releases the claim taken by <see cref="Enter"/>.</summary>
    public readonly struct Scope(ConcurrencyGuard guard) : IDisposable
    {
        /// <summary>Leaves the guarded section.</summary>
        public void Dispose() => guard?.Exit();
    }
}
