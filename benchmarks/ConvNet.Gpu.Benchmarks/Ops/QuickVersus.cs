using System.Diagnostics;
using ConvNet.Gpu.Backends.Cpu;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// Interleaved A/B timing of two CPU convolution algorithms on one shape, for a machine shared with other work: the
/// normal choice (A) and the forced algorithm (B) run alternately, call after call in one process, on two backends
/// with the same thread count and the same data, and each side keeps its minimum and median. Alternating puts both
/// sides under the same load; the minimum of many sub-millisecond calls is close to the undisturbed time.
/// Used by <c>quick conv --versus ALGORITHM</c>.
/// </summary>
internal static class QuickVersus
{
    /// <summary>Times every pass of <paramref name="shape"/> with the normal choice against <paramref name="forced"/>.</summary>
    public static void Run(ConvShape shape, int? threads, CpuConvAlgorithm forced, double seconds)
    {
        using var a = new CpuBackend(threads);
        using var b = new CpuBackend(threads) { ForcedConvAlgorithm = forced };
        using var caseA = new ConvCase(a, shape);
        using var caseB = new ConvCase(b, shape);
        var g = shape.Geometry;
        Console.WriteLine($"# {shape.Name}: {g}; {a.Threads} thread(s); A = normal choice, B = forced {forced}; load {QuickCpuOps.Load()}");
        Console.WriteLine($"| {"pass",-16} | {"A algorithm",-18} | {"A min ms",9} | {"A median",9} | {"B algorithm",-18} | {"B min ms",9} | {"B median",9} | {"B/A min",7} | {"calls",6} |");
        Console.WriteLine($"|{new string('-', 18)}|{new string('-', 20)}|{new string('-', 11)}|{new string('-', 11)}|{new string('-', 20)}|{new string('-', 11)}|{new string('-', 11)}|{new string('-', 9)}|{new string('-', 8)}|");
        Pass("forward", CpuConvPass.Forward, caseA.Forward, caseB.Forward);
        Pass("backward-data", CpuConvPass.BackwardData, caseA.BackwardData, caseB.BackwardData);
        Pass("backward-weights", CpuConvPass.BackwardWeights, caseA.BackwardWeights, caseB.BackwardWeights);
        Console.WriteLine($"# load after: {QuickCpuOps.Load()}");

        void Pass(string name, CpuConvPass pass, Action runA, Action runB)
        {
            var (ta, tb) = Alternate(runA, runB, seconds);
            double minA = ta.Min(), minB = tb.Min();
            Console.WriteLine($"| {name,-16} | {a.ChooseConvAlgorithm(g, pass).Algorithm,-18} | {minA,9:F3} | {Median(ta),9:F3} | " +
                $"{b.ChooseConvAlgorithm(g, pass).Algorithm,-18} | {minB,9:F3} | {Median(tb),9:F3} | {minB / minA,7:F3} | {ta.Count,6} |");
        }
    }

    /// <summary>Three warm-up calls each, then A, B, A, B, ... for about <paramref name="seconds"/> (at least 10 pairs).</summary>
    internal static (List<double> A, List<double> B) Alternate(Action runA, Action runB, double seconds)
    {
        for (int i = 0; i < 3; i++) { runA(); runB(); }
        List<double> ta = [], tb = [];
        var clock = Stopwatch.StartNew();
        while (ta.Count < 10 || (clock.Elapsed.TotalSeconds < seconds && ta.Count < 5000))
        {
            ta.Add(Time(runA));
            tb.Add(Time(runB));
        }
        return (ta, tb);
    }

    private static double Time(Action run)
    {
        long t0 = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s[s.Count / 2];
    }
}
