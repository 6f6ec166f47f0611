using System.Diagnostics;
using ConvNet.Gpu.Backends.Cpu;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// A minute-long alternative to BenchmarkDotNet: times SGEMM and every conv shape (forward, backward-data,
/// backward-weights) on the CPU backend and prints median milliseconds and GFLOP/s.
/// Usage: <c>dotnet run -c Release --project benchmarks/ConvNet.Gpu.Benchmarks -- quick [gemm|conv] [--threads N] [--shape NAME]</c>.
/// </summary>
public static class QuickCpuOps
{
    /// <summary>Runs the quick table with the given arguments (those after "quick").</summary>
    public static void Run(string[] args)
    {
        int? threads = null;
        string? shapeFilter = null;
        bool gemm = true, conv = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = int.Parse(args[++i]); break;
                case "--shape": shapeFilter = args[++i]; break;
                case "gemm": conv = false; break;
                case "conv": gemm = false; break;
                default: throw new ArgumentException($"unknown quick-mode argument '{args[i]}'");
            }
        }

        using var backend = new CpuBackend(threads);
        Console.WriteLine($"# {backend.Description}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; median of repeated runs");
        Console.WriteLine($"| {"case",-28} | {"op",-14} | {"median ms",10} | {"GFLOP/s",8} |");
        Console.WriteLine($"|{new string('-', 30)}|{new string('-', 16)}|{new string('-', 12)}|{new string('-', 10)}|");
        if (gemm)
            foreach (int s in new[] { 256, 512, 1024 })
            {
                using var bench = new GemmCase(backend, s, s, s);
                Report($"sgemm {s}^3", "C=AB", bench.Flops, bench.Run);
            }
        if (conv)
            foreach (var shape in ConvShapes.All)
            {
                if (shapeFilter is not null && shape.Name != shapeFilter) continue;
                using var bench = new ConvCase(backend, shape);
                Report(shape.Name, "forward", shape.Flops, bench.Forward);
                Report(shape.Name, "backward-data", shape.Flops, bench.BackwardData);
                Report(shape.Name, "backward-weights", shape.Flops, bench.BackwardWeights);
            }
    }

    private static void Report(string name, string op, double flops, Action run)
    {
        double ms = MedianMs(run);
        Console.WriteLine($"| {name,-28} | {op,-14} | {ms,10:F3} | {flops / ms / 1e6,8:F1} |");
    }

    /// <summary>Warms up, then repeats for about half a second (at least 5 runs) and returns the median.</summary>
    private static double MedianMs(Action run)
    {
        for (int i = 0; i < 3; i++) run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.ElapsedMilliseconds < 500 && times.Count < 200))
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
