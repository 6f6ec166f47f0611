using System.Text.Json;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Benchmarks.EndToEnd;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Ops;
using ConvNet.Gpu.Benchmarks.PerOp;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// The quick side-by-side mode: times the shape table's ops, SGEMM 1024^3 and the LeNet-5 epoch on one backend with the
/// PyTorch peer's timing rule (<see cref="MedianTimer"/>), and writes JSON in pytorch_peer.py's row format
/// ({engine, backend, device, rows: [{op, shape, ms, gflops}]}) for benchmarks/peers/compare.py.
/// Usage: <c>ConvNet.Gpu.Benchmarks peer --device cpu --threads 2 --out ours.json</c>.
/// </summary>
public static class PeerRun
{
    /// <summary>Runs the peer command; returns the process exit code (2 when the backend is unavailable).</summary>
    public static int Run(string[] args)
    {
        var o = PeerOptions.Parse(args);
        string backendName = BenchmarkBackends.FromDevice(o.Device);
        if (backendName == BenchmarkBackends.Cuda && BenchmarkBackends.CudaUnavailableReason is { } why)
        {
            Console.Error.WriteLine($"peer: CUDA is unavailable here: {why}");
            return 2;
        }
        var cudaOptions = new CudaBackendOptions { AllowTf32 = o.Tf32 };
        using IBackend backend = backendName switch
        {
            BenchmarkBackends.Cpu => Backend.Cpu(o.Threads),
            BenchmarkBackends.Cuda => Backend.Cuda(options: cudaOptions),
            _ => Backend.CudaEmulated(cudaOptions),
        };
        Log($"peer: {backend.Description}");

        var rows = new JsonArray();
        foreach (var (_, produce) in RowSets) produce(backend, o, rows);

        var doc = new JsonObject
        {
            ["engine"] = $"ConvNet.Gpu {typeof(Backend).Assembly.GetName().Version?.ToString(3)}",
            ["device"] = backend.Description,
            ["backend"] = o.Device.ToLowerInvariant(),
            ["threads"] = backend is Backends.Cpu.CpuBackend cpu ? cpu.Threads : null,
            ["tf32"] = backend.IsCuda ? (o.Tf32 ? "on" : "off") : "n/a",
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'"),
            ["commit"] = Environment.GetEnvironmentVariable("CONVNET_COMMIT"),
            ["command"] = "peer " + string.Join(' ', args),
            ["rows"] = rows,
        };
        string text = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (o.Out is null) Console.WriteLine(text);
        else File.WriteAllText(o.Out, text + "\n");
        return 0;
    }

    /// <summary>TrainingWorkload's loops on CUDA, in row order.</summary>
    private static readonly string[] StepLoops = ["host", "eager", "graph"];

    /// <summary>
    /// The row sets, in output order, each appending its rows (pytorch_peer.py's ROW_SETS names the same sets). Adding a
    /// benchmark row is one line here (and, for a PyTorch column, one line there); compare.py shows every (op, shape)
    /// either side measured, so a row only one side has still appears.
    /// </summary>
    private static readonly (string Name, Action<IBackend, PeerOptions, JsonArray> Produce)[] RowSets =
    [
        ("conv", (b, o, rows) => { foreach (var shape in ShapeTable.Convolutions) ConvRows(b, shape, o.Repeats, rows); }),
        ("pool", (b, o, rows) => { foreach (var pool in ShapeTable.Pools) PoolRows(b, pool, o.Repeats, rows); }),
        ("sgemm", (b, o, rows) => SgemmRow(b, o.Sgemm, o.Repeats, rows)),
        // Steps and epochs of the models in TrainingWorkload.ModelNames (CONVNET_BENCH_MODELS may narrow them, as
        // gpu-run.sh --rehearsal does); without --extended, the LeNet-5 epoch only. On CUDA each step row comes three
        // times: "<model>-step" (TrainStep on a device batch, the loss read back every step), "<model>-step-device" (Fit's
        // device loop launching kernel by kernel) and "<model>-step-graph" (the device loop replaying the step's CUDA
        // graph; PyTorch's row of that name replays its captured step).
        ("steps", (b, o, rows) =>
        {
            if (!o.Extended) return;
            foreach (string m in TrainingWorkload.ModelNames)
                foreach (string loop in b is CudaBackend ? StepLoops : ["host"]) StepRow(b, m, o.Batch, o.Repeats, loop, rows);
        }),
        ("epochs", (b, o, rows) =>
        {
            if (o.SkipEpoch) return;
            foreach (string m in o.Extended ? TrainingWorkload.ModelNames : ["lenet5"]) EpochRow(b, m, o.Batch, o.EpochImages, rows);
        }),
    ];

    private static void ConvRows(IBackend backend, ConvShape shape, int repeats, JsonArray rows)
    {
        using var c = new ConvCase(backend, shape);
        Add(rows, "conv-forward", shape.Name, MedianTimer.MedianMilliseconds(c.Forward, repeats), shape.Flops);
        Add(rows, "conv-backward-data", shape.Name, MedianTimer.MedianMilliseconds(c.BackwardData, repeats), shape.Flops);
        Add(rows, "conv-backward-weights", shape.Name, MedianTimer.MedianMilliseconds(c.BackwardWeights, repeats), shape.Flops);
    }

    private static void PoolRows(IBackend backend, PoolShape pool, int repeats, JsonArray rows)
    {
        using var p = new PoolCase(backend, pool.Geometry());
        Add(rows, "maxpool-forward", pool.Name, MedianTimer.MedianMilliseconds(p.MaxForward, repeats));
        Add(rows, "maxpool-backward", pool.Name, MedianTimer.MedianMilliseconds(p.MaxBackward, repeats));
        Add(rows, "avgpool-forward", pool.Name, MedianTimer.MedianMilliseconds(p.AvgForward, repeats));
        Add(rows, "avgpool-backward", pool.Name, MedianTimer.MedianMilliseconds(p.AvgBackward, repeats));
    }

    private static void SgemmRow(IBackend backend, int n, int repeats, JsonArray rows)
    {
        using var g = new GemmCase(backend, n, n, n);
        Add(rows, "sgemm", $"{n}x{n}x{n}", MedianTimer.MedianMilliseconds(g.Run, repeats), g.Flops);
    }

    private static void StepRow(IBackend backend, string model, int batch, int repeats, string loop, JsonArray rows)
    {
        using var w = new TrainingWorkload(backend, model, batch, loop);
        double ms = MedianTimer.MedianMilliseconds(() => w.Step(), repeats);
        string op = loop switch { "host" => $"{model}-step", "eager" => $"{model}-step-device", _ => $"{model}-step-{loop}" };
        Add(rows, op, $"batch {batch}", ms, imagesPerSecond: batch / (ms / 1e3));
    }

    private static void EpochRow(IBackend backend, string model, int batch, int images, JsonArray rows)
    {
        // Random images, as in the peer (the shape string must match its row); 10 warm-up steps first, as in the peer.
        var data = EpochData.Random(images);
        using var w = new TrainingWorkload(backend, model, batch);
        for (int i = 0; i < 10; i++) w.Step();
        double seconds = w.Epoch(data);
        Add(rows, $"{model}-epoch", $"{images} images, batch {batch}", seconds * 1e3, imagesPerSecond: images / seconds);
    }

    private static void Add(JsonArray rows, string op, string shape, double ms, double? flops = null, double? imagesPerSecond = null)
    {
        var row = new JsonObject { ["op"] = op, ["shape"] = shape, ["ms"] = Math.Round(ms, 4) };
        if (flops is double f) row["gflops"] = Math.Round(f / (ms * 1e6), 2);
        if (imagesPerSecond is double ips) row["images_per_second"] = Math.Round(ips, 1);
        rows.Add(row);
        Log($"  {op,-22} {shape,-24} {ms,10:F3} ms{(flops is double g ? $" {g / (ms * 1e6),8:F1} GFLOP/s" : "")}{(imagesPerSecond is double r ? $" {r,9:F0} images/s" : "")}");
    }

    private static void Log(string line) => Console.Error.WriteLine(line);
}
