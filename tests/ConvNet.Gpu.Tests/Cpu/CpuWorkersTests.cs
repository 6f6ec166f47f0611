using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cpu.Threading;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The CPU backend's persistent worker pool: every index runs exactly once on a slot below the job's thread count,
/// back-to-back jobs of different sizes never leak into each other, a body's exception reaches the caller with the
/// pool still usable, nested and concurrent jobs finish (serially) instead of deadlocking, idle workers end and come
/// back, and disposal ends the threads. Ops on the pool give the same bits at 1, 2 and 3 threads.
/// </summary>
public sealed class CpuWorkersTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EveryIndexRunsOnceOnAnAllowedSlotAcrossManyJobs(int threads)
    {
        using var pool = new CpuWorkers(threads);
        var rng = new Random(threads);
        for (int job = 0; job < 3000; job++)
        {
            int count = rng.Next(1, 40), maxThreads = rng.Next(1, threads + 2);
            int allowed = Math.Min(Math.Min(count, maxThreads), threads);
            var hits = new int[count];
            int badSlot = -1;
            pool.Run(count, (slot, i) =>
            {
                if (slot < 0 || slot >= allowed) badSlot = slot;
                Interlocked.Increment(ref hits[i]);
                if (i % 7 == 0) Thread.SpinWait(200); // uneven work, so workers overtake each other
            }, maxThreads);
            Assert.True(badSlot == -1, $"job {job}: slot {badSlot} used with {allowed} allowed (count {count}, maxThreads {maxThreads})");
            Assert.True(hits.All(h => h == 1), $"job {job}: index counts {string.Join(",", hits)}");
        }
        Assert.True(pool.JobCount > 0, "no job reached the workers");
    }

    [Fact]
    public void ZeroCountRunsNothingAndOneThreadRunsInOrderOnTheCaller()
    {
        using var pool = new CpuWorkers(1);
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<int>();
        pool.Run(0, (_, i) => order.Add(-1));
        pool.Run(5, (slot, i) =>
        {
            Assert.Equal(0, slot);
            Assert.Equal(caller, Environment.CurrentManagedThreadId);
            order.Add(i);
        });
        Assert.Equal([0, 1, 2, 3, 4], order);
        Assert.Throws<ConvNetArgumentException>(() => new CpuWorkers(0));
    }

    [Fact]
    public void ABodysExceptionReachesTheCallerAndThePoolKeepsWorking()
    {
        using var pool = new CpuWorkers(2);
        for (int round = 0; round < 50; round++)
        {
            int ran = 0;
            var e = Assert.Throws<InvalidOperationException>(() => pool.Run(16, (_, i) =>
            {
                Interlocked.Increment(ref ran);
                if (i == 9) throw new InvalidOperationException($"index {i} failed");
            }));
            Assert.Equal("index 9 failed", e.Message);
            Assert.Equal(16, ran); // the other indices still ran: no half-finished job is left behind
            int sum = 0;
            pool.Run(10, (_, i) => Interlocked.Add(ref sum, i));
            Assert.Equal(45, sum);
        }
    }

    [Fact]
    public void NestedJobsRunSeriallyOnTheirCaller()
    {
        using var pool = new CpuWorkers(2);
        var inner = new int[8 * 8];
        pool.Run(8, (outerSlot, i) =>
        {
            int thread = Environment.CurrentManagedThreadId;
            pool.Run(8, (slot, j) =>
            {
                Assert.Equal(0, slot);
                Assert.Equal(thread, Environment.CurrentManagedThreadId);
                inner[i * 8 + j]++;
            });
        });
        Assert.All(inner, v => Assert.Equal(1, v));
    }

    [Fact]
    public void JobsFromTwoThreadsAtOnceAllFinish()
    {
        using var pool = new CpuWorkers(2);
        long total = 0;
        var callers = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            for (int job = 0; job < 2000; job++) pool.Run(6, (_, i) => Interlocked.Add(ref total, i + 1));
        })).ToArray();
        foreach (var c in callers) c.Start();
        foreach (var c in callers) Assert.True(c.Join(TimeSpan.FromMinutes(2)), "a caller did not finish: deadlock");
        Assert.Equal(2L * 2000 * 21, total);
    }

    [Fact]
    public void IdleWorkersEndAndTheNextJobStartsThemAgain()
    {
        using var pool = new CpuWorkers(3, idleExit: TimeSpan.FromMilliseconds(20));
        for (int round = 0; round < 3; round++)
        {
            var seen = new int[6];
            pool.Run(6, (_, i) => { Thread.Sleep(2); seen[i]++; });
            Assert.All(seen, v => Assert.Equal(1, v));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (pool.LiveThreads > 0 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Assert.Equal(0, pool.LiveThreads);
        }
    }

    [Fact]
    public void DisposeEndsTheThreadsAndLaterJobsRunOnTheCaller()
    {
        var pool = new CpuWorkers(3);
        pool.Run(6, (_, i) => Thread.Sleep(1));
        pool.Dispose();
        Assert.Equal(0, pool.LiveThreads);
        int caller = Environment.CurrentManagedThreadId, sum = 0;
        pool.Run(4, (slot, i) =>
        {
            Assert.Equal(caller, Environment.CurrentManagedThreadId);
            sum += i;
        });
        Assert.Equal(6, sum);
        pool.Dispose(); // idempotent
    }

    /// <summary>
    /// Ops that run on the pool (the small-channel, implicit-GEMM and Winograd convolutions, activations) give the
    /// same bits on 1, 2 and 3 threads; the weight gradients (chunked sums: bits depend on the thread count by design)
    /// give the same bits call after call on one backend.
    /// </summary>
    [Fact]
    public void OpsOnThePoolAreBitIdenticalAcrossThreadCountsAndRepeats()
    {
        var rng = new TestRng(18);
        var cases = new (string Name, TensorShape X, int K, Conv2dSpec Spec)[]
        {
            ("LeNet C1", TensorShape.Nchw(16, 1, 32, 32), 6, Conv2dSpec.Square(5)),
            ("LeNet C3", TensorShape.Nchw(16, 6, 14, 14), 16, Conv2dSpec.Square(5)),
            ("3x3 pad 1", TensorShape.Nchw(8, 16, 18, 18), 32, Conv2dSpec.Square(3, padding: 1)),
            ("3x3 dilation 2", TensorShape.Nchw(6, 16, 16, 16), 24, new Conv2dSpec(3, 3, padding: Padding2d.Symmetric(2), dilationH: 2, dilationW: 2)),
        };
        foreach (var (name, xs, k, spec) in cases)
        {
            var g = spec.Resolve(xs, k);
            float[] x = rng.Uniform(xs.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount);
            float[] dy = rng.Uniform(g.OutputShape.ElementCount);
            float[][]? reference = null;
            foreach (int threads in new[] { 1, 2, 3, 2 })
            {
                using var backend = new CpuBackend(threads);
                using Tensor tx = Up(backend, xs, x), tw = Up(backend, g.WeightShape, w), tdy = Up(backend, g.OutputShape, dy);
                using Tensor ty = backend.Allocate(g.OutputShape), tdx = backend.Allocate(xs), tdw = backend.Allocate(g.WeightShape);
                using Tensor tr = backend.Allocate(g.OutputShape);
                backend.Conv2dForward(tx, tw, null, ty, g);
                backend.Conv2dBackwardData(tdy, tw, tdx, g);
                backend.ActivationForward(ActivationKind.ReLU, 0, ty, tr);
                var got = new[] { ty.ToArray(), tdx.ToArray(), tr.ToArray() };
                reference ??= got;
                for (int o = 0; o < got.Length; o++)
                    Assert.True(reference[o].AsSpan().SequenceEqual(got[o]), $"{name}: output {o} differs at {threads} threads");
                backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
                float[] first = tdw.ToArray();
                for (int repeat = 0; repeat < 3; repeat++)
                {
                    backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
                    Assert.True(first.AsSpan().SequenceEqual(tdw.ToArray()), $"{name}: weight gradient changed on repeat {repeat} at {threads} threads");
                }
            }
        }
    }

    private static Tensor Up(CpuBackend backend, TensorShape shape, float[] data)
    {
        var t = backend.Allocate(shape);
        t.Upload(data);
        return t;
    }
}
