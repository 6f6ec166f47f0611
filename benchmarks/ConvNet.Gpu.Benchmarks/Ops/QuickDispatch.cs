using System.Diagnostics;
using ConvNet.Gpu.Backends.Cpu.Threading;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// What handing work to other threads costs here: <c>Parallel.For</c> against the backend's persistent workers
/// (<see cref="CpuWorkers"/>), for an empty body and for a LeNet-sized body (a ReLU over 64 x 6 x 14 x 14 floats split
/// in two), back to back, reporting minimum / median / 90th percentile microseconds and bytes allocated per call.
/// Each mechanism runs alone (the workers spin between jobs and would slow the thread pool's threads if interleaved),
/// Parallel.For first, before the workers exist. Used by <c>quick dispatch [--threads N]</c>.
/// </summary>
internal static class QuickDispatch
{
    public static void Run(int? threads)
    {
        int t = Math.Max(2, threads ?? Environment.ProcessorCount);
        var options = new ParallelOptions { MaxDegreeOfParallelism = t };
        using var workers = new CpuWorkers(t);
        float[] data = new float[64 * 6 * 14 * 14], output = new float[data.Length];
        var rng = new Random(1);
        for (int i = 0; i < data.Length; i++) data[i] = rng.NextSingle() - 0.5f;
        long sink = 0;
        void Relu(int part, int parts)
        {
            int lo = data.Length * part / parts, hi = data.Length * (part + 1) / parts;
            System.Numerics.Tensors.TensorPrimitives.Max(data.AsSpan(lo, hi - lo), 0f, output.AsSpan(lo, hi - lo));
        }
        Console.WriteLine($"# dispatch cost, {t} threads, load {QuickCpuOps.Load()}; µs per call");
        Console.WriteLine($"| {"case",-44} | {"min",7} | {"median",7} | {"p90",7} | {"bytes/call",10} |");
        Console.WriteLine($"|{new string('-', 46)}|{new string('-', 9)}|{new string('-', 9)}|{new string('-', 9)}|{new string('-', 12)}|");
        Time("inline, empty", () => Interlocked.Increment(ref sink));
        Time("inline, ReLU 75K floats", () => Relu(0, 1));
        Time("Parallel.For, empty body", () => Parallel.For(0, t, options, _ => Interlocked.Increment(ref sink)));
        Time("Parallel.For, ReLU 75K floats in 2", () => Parallel.For(0, 2, options, p => Relu(p, 2)));
        Time("CpuWorkers.Run, empty body", () => workers.Run(t, (_, _) => Interlocked.Increment(ref sink)));
        Time("CpuWorkers.Run, ReLU 75K floats in 2", () => workers.Run(2, (_, p) => Relu(p, 2)));
        Console.WriteLine($"# load after: {QuickCpuOps.Load()}");
    }

    /// <summary>Warms the case up, then calls it 20,000 times and prints its row.</summary>
    private static void Time(string name, Action run)
    {
        const int Rounds = 20000;
        for (int i = 0; i < 1000; i++) run();
        var times = new double[Rounds];
        long bytes = 0;
        for (int r = 0; r < Rounds; r++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread(), t0 = Stopwatch.GetTimestamp();
            run();
            times[r] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            bytes += GC.GetAllocatedBytesForCurrentThread() - b0;
        }
        Array.Sort(times);
        Console.WriteLine($"| {name,-44} | {times[0],7:F2} | {times[Rounds / 2],7:F2} | {times[Rounds * 9 / 10],7:F2} | {bytes / (double)Rounds,10:F0} |");
    }
}
