using System.Diagnostics;
using System.Text.Json;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Benchmarks.PerOp;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>
/// A minute-long alternative to BenchmarkDotNet: times SGEMM and every conv shape (forward, backward-data,
/// backward-weights) on the CPU backend and prints median and minimum milliseconds with GFLOP/s (2 x multiply-adds per second).
/// Usage: <c>dotnet run -c Release --project benchmarks/ConvNet.Gpu.Benchmarks -- quick [gemm|conv|pool|dispatch] [--threads N] [--shape NAME] [--im2col] [--json FILE] [--col-block FLOATS] [--force ALGORITHM] [--custom N,C,H,W,K,kernel,stride,pad,dilation] [--batch N] [--versus ALGORITHM [--seconds S]]</c>.
/// <c>--json</c> also writes the rows in the format of benchmarks/peers/compare.py (ops "sgemm", "conv-forward", ...).
/// <c>--batch</c> replaces the table's batch size (smaller calls time more robustly on a loaded machine);
/// <c>--versus</c> times the normal choice against a forced algorithm, alternating calls (<see cref="QuickVersus"/>).
/// </summary>
public static class QuickCpuOps
{
    /// <summary>Runs the quick table with the given arguments (those after "quick").</summary>
    public static void Run(string[] args)
    {
        int? threads = null;
        string? shapeFilter = null, jsonPath = null;
        int? colBlock = null;
        CpuConvAlgorithm? force = null;
        ConvShape? custom = null;
        int? batch = null;
        CpuConvAlgorithm? versus = null;
        double seconds = 2;
        bool gemm = true, conv = true, pool = true, dataMovement = false;
        if (args.Length > 0 && args[0] == "dispatch")
        {
            QuickDispatch.Run(args.Length > 2 && args[1] == "--threads" ? int.Parse(args[2]) : null);
            return;
        }
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = int.Parse(args[++i]); break;
                case "--shape": shapeFilter = args[++i]; break;
                case "gemm": conv = false; pool = false; break;
                case "conv": gemm = false; pool = false; break;
                case "pool": gemm = false; conv = false; break;
                case "--im2col": dataMovement = true; break;
                case "--json": jsonPath = args[++i]; break;
                case "--col-block": colBlock = int.Parse(args[++i]); break;
                case "--force": force = Enum.Parse<CpuConvAlgorithm>(args[++i]); break;
                case "--custom": custom = ParseCustom(args[++i]); break;
                case "--batch": batch = int.Parse(args[++i]); break;
                case "--versus": versus = Enum.Parse<CpuConvAlgorithm>(args[++i]); break;
                case "--seconds": seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown quick-mode argument '{args[i]}'");
            }
        }

        var convShapes = (custom is null ? ConvShapes.All : [custom])
            .Where(s => shapeFilter is null || s.Name == shapeFilter)
            .Select(s => batch is { } n ? s with { N = n } : s).ToList();
        if (versus is { } other)
        {
            foreach (var shape in convShapes) QuickVersus.Run(shape, threads, other, seconds);
            return;
        }

        using var backend = new CpuBackend(threads);
        if (colBlock is { } cb) backend.ColumnBlockFloats = cb;
        backend.ForcedConvAlgorithm = force;
        var peak = CpuPeak.Measure(backend.Threads);
        _peakGflops = peak.Gflops;
        Console.WriteLine($"# {backend.Description}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load {Load()}; median of repeated runs");
        Console.WriteLine($"# % peak = best GFLOP/s over the {peak}");
        Console.WriteLine($"| {"case",-14} | {"op",-16} | {"median ms",10} | {"GFLOP/s",8} | {"min ms",10} | {"best GFLOP/s",12} | {"% peak",6} |");
        Console.WriteLine($"|{new string('-', 16)}|{new string('-', 18)}|{new string('-', 12)}|{new string('-', 10)}|{new string('-', 12)}|{new string('-', 14)}|{new string('-', 8)}|");
        if (gemm)
        {
            foreach (int s in new[] { 256, 512, 1024 })
            {
                using var bench = new GemmCase(backend, s, s, s);
                Report($"sgemm {s}^3", "NN", bench.Flops, bench.Run, s == 1024 ? "sgemm" : null, $"{s}x{s}x{s}");
            }
            foreach (var (ta, tb) in new[] { (true, false), (false, true), (true, true) })
            {
                using var bench = new GemmCase(backend, 1024, 1024, 1024, ta, tb);
                Report("sgemm 1024^3", (ta ? "T" : "N") + (tb ? "T" : "N"), bench.Flops, bench.Run);
            }
        }
        if (conv)
            foreach (var shape in convShapes)
            {
                using var bench = new ConvCase(backend, shape);
                Report(shape.Name, "forward", shape.Flops, bench.Forward, "conv-forward");
                Report(shape.Name, "backward-data", shape.Flops, bench.BackwardData, "conv-backward-data");
                Report(shape.Name, "backward-weights", shape.Flops, bench.BackwardWeights, "conv-backward-weights");
                if (dataMovement)
                {
                    Report(shape.Name, "im2col", 0, bench.Im2Col);
                    Report(shape.Name, "col2im", 0, bench.Col2Im);
                }
            }
        if (pool)
            foreach (var shape in ShapeTable.Pools)
            {
                if (shapeFilter is not null && shape.Name != shapeFilter) continue;
                using var p = new PoolCase(backend, shape.Geometry());
                Report(shape.Name, "maxpool-forward", 0, p.MaxForward);
                Report(shape.Name, "maxpool-backward", 0, p.MaxBackward);
                Report(shape.Name, "avgpool-forward", 0, p.AvgForward);
                Report(shape.Name, "avgpool-backward", 0, p.AvgBackward);
            }
        if (jsonPath is not null) WriteJson(jsonPath, backend);
    }

    /// <summary>"N,C,H,W,K,kernel,stride,pad,dilation" (square kernel, symmetric padding) as a shape named "custom".</summary>
    private static ConvShape ParseCustom(string text)
    {
        int[] v = text.Split(',').Select(int.Parse).ToArray();
        if (v.Length != 9) throw new ArgumentException($"--custom wants N,C,H,W,K,kernel,stride,pad,dilation, got '{text}'");
        return new ConvShape("custom", v[0], v[1], v[2], v[3], v[4],
            new Conv2dSpec(v[5], v[5], v[6], v[6], Padding2d.Symmetric(v[7]), v[8], v[8]));
    }

    private static readonly List<Dictionary<string, object>> Rows = [];
    private static double _peakGflops = double.NaN;

    /// <summary>The 1-, 5- and 15-minute load averages (Linux), or "n/a".</summary>
    internal static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static void WriteJson(string path, CpuBackend backend)
    {
        var doc = new Dictionary<string, object>
        {
            ["engine"] = "ConvNet.Gpu",
            ["backend"] = "cpu",
            ["device"] = backend.Description,
            ["threads"] = backend.Threads,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss"),
            ["rows"] = Rows,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {path}");
    }

    private static void Report(string name, string op, double flops, Action run, string? jsonOp = null, string? jsonShape = null)
    {
        var (median, min) = Time(run);
        if (jsonOp is not null)
            Rows.Add(new() { ["op"] = jsonOp, ["shape"] = jsonShape ?? name, ["ms"] = median, ["min_ms"] = min, ["gflops"] = flops / median / 1e6 });
        Console.WriteLine($"| {name,-14} | {op,-16} | {median,10:F3} | {flops / median / 1e6,8:F1} | {min,10:F3} | {flops / min / 1e6,12:F1} | {100 * flops / min / 1e6 / _peakGflops,6:F1} |");
    }

    /// <summary>Warms up, then repeats for about half a second (at least 5 runs); returns the median and the minimum in ms.</summary>
    private static (double Median, double Min) Time(Action run)
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
        return (times[times.Count / 2], times[0]);
    }
}
