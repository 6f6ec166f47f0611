using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Ops;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// Which convolution algorithm wins where: every shape of conv-shapes.json (plus conv-extra-shapes.json's depthwise
/// ones) x pass, timed once per algorithm forced and once autotuned, with the PyTorch peer's timing rule. Columns per
/// row: the algorithm that actually ran (a forced one that cannot run a shape falls back to Im2ColGemm, and the row
/// says so), median ms, FLOPs, compulsory bytes (each tensor read or written once), GFLOP/s, GB/s, and % of the device's
/// peak: cuBLAS SGEMM 8192^3 measured with TF32 off for the FP32 algorithms and on for ImplicitGemmTf32 (or
/// CONVNET_GPU_PEAK_GFLOPS / CONVNET_GPU_TF32_PEAK_GFLOPS). Writes JSON rows ({op, shape, algorithm, ran, tf32, ms,
/// gflops, bytes, gbps, pct_peak}) for peers/compare_algorithms.py and prints a markdown table.
/// Usage: <c>ConvNet.Gpu.Benchmarks conv-algorithms [--device cuda|cuda-emulated] [--tf32 on|off] [--repeats N]
/// [--batch N] [--shapes a,b] [--extra-shapes FILE] [--out FILE]</c>. On the emulated device (to check the code path)
/// use a small batch: every kernel runs on the host.
/// </summary>
public static class ConvAlgorithmRun
{
    private static readonly ConvAlgorithm[] Algorithms =
        [ConvAlgorithm.Im2ColGemm, ConvAlgorithm.ImplicitGemmFp32, ConvAlgorithm.ImplicitGemmTf32, ConvAlgorithm.Depthwise, ConvAlgorithm.PointwiseGemm];

    /// <summary>Runs the command; returns the exit code (2 when CUDA is unavailable).</summary>
    public static int Run(string[] args)
    {
        string device = "cuda", extra = DefaultExtraShapes();
        bool tf32 = false;
        int repeats = 10;
        int? batch = null;
        string? outFile = null;
        HashSet<string>? only = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--device": device = Next(); break;
                case "--tf32": tf32 = Next() == "on"; break;
                case "--repeats": repeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--shapes": only = Next().Split(',').ToHashSet(); break;
                case "--extra-shapes": extra = Next(); break;
                case "--out": outFile = Next(); break;
                default: throw new ArgumentException($"unknown conv-algorithms argument '{args[i]}'");
            }
        }
        string backendName = BenchmarkBackends.FromDevice(device);
        if (backendName == BenchmarkBackends.Cuda && BenchmarkBackends.CudaUnavailableReason is { } why)
        {
            Console.Error.WriteLine($"conv-algorithms: CUDA is unavailable here: {why}");
            return 2;
        }
        bool emulated = backendName != BenchmarkBackends.Cuda;
        var shapes = ShapeTable.Convolutions.Concat(ExtraShapes(extra))
            .Where(s => only is null || only.Contains(s.Name))
            .Select(s => batch is int n ? s with { N = n } : s).ToList();
        (double fp32Peak, string fp32Source) = DevicePeak.For(backendName);
        (double tf32Peak, string tf32Source) = emulated ? (fp32Peak, fp32Source) : DevicePeak.Tf32Gpu();

        var rows = new JsonArray();
        string description = "";
        var variants = Algorithms.Where(a => tf32 || a != ConvAlgorithm.ImplicitGemmTf32).Select(a => (ConvAlgorithm?)a).Append(null);
        foreach (var forced in variants)
        {
            var options = new CudaBackendOptions { AllowTf32 = tf32, ForceConvAlgorithm = forced, AutotuneCachePath = "" };
            using CudaBackend cuda = emulated ? Backend.CudaEmulated(options) : Backend.Cuda(options: options);
            description = cuda.Description;
            string label = forced?.ToString() ?? "autotuned";
            foreach (var shape in shapes)
            {
                using var c = new ConvCase(cuda, shape);
                var g = shape.Geometry;
                foreach (var (pass, op, run) in new (ConvPass, string, Action)[]
                         {
                             (ConvPass.Forward, "conv-forward", c.Forward), (ConvPass.BackwardData, "conv-backward-data", c.BackwardData),
                             (ConvPass.BackwardWeights, "conv-backward-weights", c.BackwardWeights),
                         })
                {
                    var choice = cuda.ConvAlgorithmFor(pass, g);
                    double ms = MedianTimer.MedianMilliseconds(run, repeats);
                    double peak = choice.Algorithm == ConvAlgorithm.ImplicitGemmTf32 ? tf32Peak : fp32Peak;
                    long bytes = 4L * (g.InputShape.ElementCount + g.WeightShape.ElementCount + g.OutputShape.ElementCount);
                    double gflops = shape.Flops / (ms * 1e6);
                    var row = new JsonObject
                    {
                        ["op"] = op, ["shape"] = shape.Name, ["algorithm"] = label, ["ran"] = choice.Algorithm.ToString(),
                        ["reason"] = choice.Reason, ["tf32"] = tf32 ? "on" : "off", ["ms"] = Math.Round(ms, 4),
                        ["flops"] = shape.Flops, ["bytes"] = bytes, ["gflops"] = Math.Round(gflops, 2),
                        ["gbps"] = Math.Round(bytes / (ms * 1e6), 2), ["pct_peak"] = Math.Round(100 * gflops / peak, 2),
                    };
                    rows.Add(row);
                    Console.Error.WriteLine($"  {label,-17} {op,-22} {shape.Name,-13} {choice.Algorithm,-17} {ms,10:F3} ms {gflops,9:F1} GFLOP/s {100 * gflops / peak,6:F1}% peak");
                }
            }
        }
        var doc = new JsonObject
        {
            ["engine"] = $"ConvNet.Gpu {typeof(Backend).Assembly.GetName().Version?.ToString(3)}",
            ["device"] = description, ["backend"] = device, ["tf32"] = tf32 ? "on" : "off",
            ["fp32_peak"] = fp32Source, ["tf32_peak"] = tf32 ? tf32Source : null,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            ["commit"] = Environment.GetEnvironmentVariable("CONVNET_COMMIT"),
            ["command"] = "conv-algorithms " + string.Join(' ', args), ["rows"] = rows,
        };
        string text = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (outFile is null) Console.WriteLine(text);
        else File.WriteAllText(outFile, text + "\n");
        return 0;
    }

    /// <summary>conv-extra-shapes.json next to conv-shapes.json (the repository's benchmarks/ or the published bundle).</summary>
    private static string DefaultExtraShapes()
    {
        foreach (string dir in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, ".."), Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "conv-extra-shapes.json");
                if (File.Exists(candidate)) return candidate;
                candidate = Path.Combine(d.FullName, "benchmarks", "conv-extra-shapes.json");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return "";
    }

    private static IEnumerable<ConvShape> ExtraShapes(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path)) yield break;
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var s in json.RootElement.GetProperty("shapes").EnumerateArray())
        {
            int Get(string name) => s.GetProperty(name).GetInt32();
            int groups = s.TryGetProperty("groups", out var gr) ? gr.GetInt32() : 1;
            yield return new ConvShape(s.GetProperty("name").GetString()!, Get("n"), Get("c"), Get("h"), Get("w"), Get("k"),
                Conv2dSpec.Square(Get("kernel"), Get("stride"), Get("pad"), Get("dilation"), groups));
        }
    }
}
