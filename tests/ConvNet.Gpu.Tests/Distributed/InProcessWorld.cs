using ConvNet.Gpu.Distributed;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// A test-only world of N ranks inside one process (one thread per rank), so that the data-parallel logic can be
/// checked against a single process in seconds, without mpirun. Its reductions follow the <see cref="ICollectives"/>
/// contract exactly (float64 sum in rank order, one rounding), like <c>MpiCollectives</c>, whose transport is tested
/// separately under mpirun (<see cref="MpiCollectivesTests"/>).
/// </summary>
internal sealed class InProcessWorld
{
    private readonly object _gate = new();
    private readonly Dictionary<long, (byte[]?[] Gather, float[]?[] Reduce, int Consumed)> _operations = [];

    public InProcessWorld(int size) => Size = size;

    public int Size { get; }

    /// <summary>Runs <paramref name="body"/> on every rank, each on its own thread, and returns the results in rank order.</summary>
    public static T[] Run<T>(int size, Func<ICollectives, T> body, TimeSpan? timeout = null)
    {
        var world = new InProcessWorld(size);
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                results[rank] = body(new Member(world, rank) { Timeout = timeout ?? TimeSpan.FromSeconds(60) });
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        }, 16 << 20)).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var failed = errors.Select((e, r) => (e, r)).Where(x => x.e is not null).ToList();
        if (failed.Count > 0)
            throw new AggregateException($"{failed.Count} of {size} ranks failed: " + string.Join(" | ", failed.Select(f => $"rank {f.r}: {f.e!.Message}")),
                failed.Select(f => f.e!));
        return results;
    }

    private sealed class Member(InProcessWorld world, int rank) : ICollectives
    {
        private long _sequence;

        public int Rank => rank;
        public int WorldSize => world.Size;
        public string Description => $"in-process test world, rank {rank} of {world.Size}";
        public TimeSpan Timeout { get; set; }

        public byte[][] AllGather(ReadOnlySpan<byte> local, string operation)
        {
            long id = _sequence++;
            lock (world._gate)
            {
                var op = world.Slot(id);
                op.Gather[rank] = local.ToArray();
                Monitor.PulseAll(world._gate);
                var deadline = DateTime.UtcNow + Timeout;
                while (op.Gather.Any(g => g is null))
                    if (!Monitor.Wait(world._gate, Remaining(deadline)))
                        throw TimedOut(operation, op.Gather.Select((g, r) => (g, r)).Where(x => x.g is null).Select(x => x.r).ToList());
                var result = op.Gather.Select(g => g!).ToArray();
                world.Consume(id);
                return result;
            }
        }

        public IPendingReduction StartAllReduceSum(Memory<float> buffer, string operation)
        {
            long id = _sequence++;
            lock (world._gate)
            {
                world.Slot(id).Reduce[rank] = buffer.ToArray();
                Monitor.PulseAll(world._gate);
            }
            return new Pending(this, id, buffer, operation, DateTime.UtcNow + Timeout);
        }

        private sealed class Pending(Member owner, long id, Memory<float> buffer, string operation, DateTime deadline) : IPendingReduction
        {
            private bool _done;
            public string Operation => operation;

            public bool Poll()
            {
                if (_done) return true;
                lock (owner.World._gate)
                {
                    var op = owner.World._operations[id];
                    if (op.Reduce.Any(r => r is null))
                    {
                        if (DateTime.UtcNow > deadline)
                            throw owner.TimedOut(operation, op.Reduce.Select((g, r) => (g, r)).Where(x => x.g is null).Select(x => x.r).ToList());
                        return false;
                    }
                    var span = buffer.Span;
                    for (int i = 0; i < span.Length; i++)
                    {
                        double sum = 0;
                        foreach (var contribution in op.Reduce) sum += contribution![i];
                        span[i] = (float)sum;
                    }
                    owner.World.Consume(id);
                }
                _done = true;
                return true;
            }

            public void Wait()
            {
                while (!Poll())
                    lock (owner.World._gate) Monitor.Wait(owner.World._gate, 1);
            }
        }

        private InProcessWorld World => world;

        private CollectiveTimeoutException TimedOut(string operation, IReadOnlyList<int> missing) => new(operation, rank, missing, Timeout);

        public void Dispose() { }
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private (byte[]?[] Gather, float[]?[] Reduce, int Consumed) Slot(long id)
    {
        if (!_operations.TryGetValue(id, out var op)) _operations[id] = op = (new byte[Size][], new float[Size][], 0);
        return op;
    }

    private void Consume(long id)
    {
        var op = _operations[id];
        op.Consumed++;
        if (op.Consumed == Size) _operations.Remove(id);
        else _operations[id] = op;
    }
}
