using System.Diagnostics;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Backends.Cpu.Threading;
using ConvNet.Gpu.Benchmarks.EndToEnd;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// What handing work to other threads costs here: <c>Parallel.For</c> against the backend's persistent workers
/// (<see cref="CpuWorkers"/>), for an empty body and for a LeNet-sized body (a ReLU over 64 x 6 x 14 x 14 floats split
/// in two), back to back, reporting minimum / median / 90th percentile microseconds and bytes allocated per call.
/// Each mechanism runs alone (the workers spin between jobs and would slow the thread pool's threads if interleaved),
/// Parallel.For first, before the workers exist. Then whole LeNet-5 training steps (batch 64), alternating a backend on
/// its workers (A) with one whose workers hand every job to <c>Parallel.For</c> (B,
/// <see cref="CpuWorkers.ParallelForBaseline"/>), so both see the same load.
/// Used by <c>quick dispatch [--threads N] [--seconds S]</c>.
/// </summary>
internal static class QuickDispatch
{
    public static void Run(string[] args)
    {
        int? threads = null;
        double seconds = 10;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = int.Parse(args[++i]); break;
                case "--seconds": seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"quick dispatch: unknown option '{args[i]}' (expected --threads N, --seconds S)");
            }
        }
        int t = Math.Max(2, threads ?? Environment.ProcessorCount);
        Calls(t);
        Steps(t, seconds);
    }

    private static void Calls(int t)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = t };
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
        using var workers = new CpuWorkers(t);
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

    /// <summary>LeNet-5 training steps (batch 64), A on the workers and B on Parallel.For, alternating.</summary>
    private static void Steps(int t, double seconds)
    {
        using var a = new CpuBackend(t);
        using var b = new CpuBackend(t);
        b.Workers.ParallelForBaseline = true;
        using var wa = new TrainingWorkload(a, "lenet5", 64);
        using var wb = new TrainingWorkload(b, "lenet5", 64);
        Console.WriteLine();
        Console.WriteLine($"# LeNet-5 training step, batch 64, {t} threads, A = persistent workers, B = Parallel.For; alternating for {seconds} s; load {QuickCpuOps.Load()}");
        var (ta, tb) = QuickVersus.Alternate(() => wa.Step(), () => wb.Step(), seconds);
        ta.Sort();
        tb.Sort();
        Console.WriteLine($"| {"",-22} | {"min ms",8} | {"median",8} | {"steps",6} |");
        Console.WriteLine($"|{new string('-', 24)}|{new string('-', 10)}|{new string('-', 10)}|{new string('-', 8)}|");
        Console.WriteLine($"| {"A: workers",-22} | {ta[0],8:F3} | {ta[ta.Count / 2],8:F3} | {ta.Count,6} |");
        Console.WriteLine($"| {"B: Parallel.For",-22} | {tb[0],8:F3} | {tb[tb.Count / 2],8:F3} | {tb.Count,6} |");
        Console.WriteLine($"# A/B: min {ta[0] / tb[0]:F3}, median {ta[ta.Count / 2] / tb[tb.Count / 2]:F3}; load after: {QuickCpuOps.Load()}");
    }
}
