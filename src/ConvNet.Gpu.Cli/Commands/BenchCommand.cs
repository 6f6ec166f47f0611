using System.CommandLine;
using System.Globalization;
using ConvNet.Gpu.Cli.Diagnostics;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using Spectre.Console;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary>
/// <c>convnet bench</c>: a quick table of SGEMM and convolution (forward, backward-data, backward-weights) times and
/// GFLOP/s on the CPU and on the GPU; when no GPU works, the emulated device if asked for, otherwise the reason.
/// <c>convnet bench --algorithms</c>: the CUDA convolution algorithms per shape and pass instead (<see cref="ConvAlgorithmTable"/>).
/// </summary>
internal static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliApp app)
    {
        var gpu = new Option<string>("--gpu")
        {
            Description = "Which CUDA device to compare with: cuda, cuda:N, cuda-emulated, or none. Default: cuda.",
            DefaultValueFactory = _ => "cuda",
        };
        var seconds = CommonOptions.OptionalPositiveDouble("--seconds", $"Time budget per op and device, in seconds (at least 3 timed calls). Default: {OpBenchmark.DefaultSeconds}.");
        var algorithms = new Option<bool>("--algorithms")
        {
            Description = "Instead: per convolution shape and pass, every CUDA convolution algorithm timed on the --gpu device, and the one the backend picks, with why.",
        };
        var tf32 = new Option<bool>("--tf32") { Description = "With --algorithms: allow TF32 (cuBLAS and the tensor-core implicit GEMM)." };
        var batch = CommonOptions.OptionalInt("--batch", "With --algorithms: the batch of the shapes. Default: 8 on a GPU, 1 on the emulated device.", 1);
        var command = new Command("bench", "Time SGEMM and convolutions on the CPU and the GPU (a quick table; see benchmarks/ for BenchmarkDotNet).");
        command.Options.Add(gpu);
        command.Options.Add(seconds);
        command.Options.Add(algorithms);
        command.Options.Add(tf32);
        command.Options.Add(batch);
        command.SetAction((parse, ct) => Task.FromResult(parse.GetValue(algorithms)
            ? RunAlgorithms(app.Console, parse.GetValue(gpu)!, parse.GetValue(tf32), parse.GetValue(batch), ct)
            : Run(app.Console, parse.GetValue(gpu)!, parse.GetValue(seconds) ?? OpBenchmark.DefaultSeconds, ct)));
        return command;
    }

    private static int RunAlgorithms(CliConsole console, string gpuText, bool tf32, int? batch, CancellationToken cancellationToken)
    {
        DeviceRequest request = DeviceRequest.TryParse(gpuText) is { Kind: DeviceKind.Cuda or DeviceKind.CudaEmulated } r
            ? r
            : throw CliException.UsageError($"--algorithms times the CUDA convolution algorithms: --gpu must be cuda, cuda:N or cuda-emulated, not '{gpuText}'.");
        OpenedDevice opened = DeviceSelector.Open(request, tf32);
        using var cuda = (ConvNet.Gpu.Backends.Cuda.CudaBackend)opened.Backend;
        int n = batch ?? (cuda.IsEmulated ? 1 : 8);
        console.Line(cuda.Description);
        var (table, reasons) = ConvAlgorithmTable.Build(cuda, n, runs: cuda.IsEmulated ? 3 : 10, cancellationToken);
        console.Render(table);
        foreach (string reason in reasons) console.Line(reason);
        console.Line($"Batch {n}. Median ms per algorithm ({(cuda.IsEmulated ? "host time: the emulated device runs the kernels on the CPU, so only the choices are meaningful" : "CUDA events")}); "
                     + "- = cannot run that shape here. The chosen one is what the backend runs: " + (cuda.IsEmulated
                         ? "the fixed cost order on the emulated device."
                         : $"{cuda.Options.Autotune} autotuning (cached in {cuda.ConvAutotuneCacheStatus.Path ?? "memory"}).")
                     + " TF32 " + (tf32 ? "on." : "off (--tf32 to allow it)."));
        return ExitCodes.Success;
    }

    private static int Run(CliConsole console, string gpuText, double seconds, CancellationToken cancellationToken)
    {
        OpenedDevice? gpu = null;
        string gpuColumn = "GPU";
        if (!string.Equals(gpuText, "none", StringComparison.OrdinalIgnoreCase))
        {
            DeviceRequest request = DeviceRequest.TryParse(gpuText) is { Kind: DeviceKind.Cuda or DeviceKind.CudaEmulated } r
                ? r
                : throw CliException.UsageError($"unknown --gpu '{gpuText}'. Valid values: cuda, cuda:N, cuda-emulated, none.");
            try
            {
                gpu = DeviceSelector.Open(request, tf32: false);
                gpuColumn = gpu.Backend.Name;
            }
            catch (CliException ex) when (ex.ExitCode == ExitCodes.Device)
            {
                string why = ex.InnerException is ConvNet.Gpu.Backends.Cuda.CudaUnavailableException u ? $"CUDA is unavailable: {u.Reason}" : ex.Message;
                console.Line($"GPU columns empty: {why}." + (request.Kind == DeviceKind.CudaEmulated ? "" : " Pass --gpu cuda-emulated to time the emulated device instead."));
            }
        }

        using var cpu = Backend.Cpu();
        console.Line(cpu.Description);
        var peak = ConvNet.Gpu.Backends.Cpu.CpuPeak.Measure(cpu.Threads);
        console.Line($"CPU {peak}; \"% peak\" is the CPU GFLOP/s over it.");
        if (gpu is not null) console.Line(gpu.Backend.Description);

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("op").AddColumn("shape")
            .AddColumn(new TableColumn("CPU ms").RightAligned()).AddColumn(new TableColumn("CPU GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("% peak").RightAligned())
            .AddColumn(new TableColumn($"{Markup.Escape(gpuColumn)} ms").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("speed-up").RightAligned());
        try
        {
            if (gpu?.Backend is ConvNet.Gpu.Backends.Cuda.CudaBackend counted) PrintStepCounts(console, counted);
            foreach (BenchCase c in OpBenchmark.Cases())
            {
                (string ms, string gf, double? t) cpuCell = Cell(c, cpu, seconds, cancellationToken);
                (string ms, string gf, double? t) gpuCell = gpu is null ? ("n/a", "n/a", null) : Cell(c, gpu.Backend, seconds, cancellationToken);
                string speedup = cpuCell.t is double a && gpuCell.t is double b ? (a / b).ToString("0.0", CultureInfo.InvariantCulture) + "x" : "";
                string percent = cpuCell.t is double ms ? (100 * c.Flops / (ms * 1e-3) / 1e9 / peak.Gflops).ToString("0", CultureInfo.InvariantCulture) + "%" : "";
                table.AddRow(c.Op, Markup.Escape(c.Shape), cpuCell.ms, cpuCell.gf, percent, gpuCell.ms, gpuCell.gf, speedup);
            }
        }
        finally
        {
            gpu?.Backend.Dispose();
        }
        console.Render(table);
        console.Line("Median of repeated calls after warm-up, each ended by a synchronize; FP32" + (gpu is null ? "." : ", TF32 off."));
        return ExitCodes.Success;
    }

    // What one steady LeNet-5 training step (Adam, softmax cross-entropy) asks of the device in each loop: the counts
    // of issue 12 (launches, copies, host waits, graph launches), on a GPU and on the emulated device alike.
    private static void PrintStepCounts(CliConsole console, ConvNet.Gpu.Backends.Cuda.CudaBackend cuda)
    {
        int batch = cuda.IsEmulated ? 16 : 64;
        var rng = new Random(11);
        float[] images = Enumerable.Range(0, batch * 784).Select(_ => rng.NextSingle()).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(_ => rng.Next(10)).ToArray();
        var table = new Table().Border(TableBorder.Rounded).AddColumn("LeNet-5 step loop")
            .AddColumn(new TableColumn("launches").RightAligned()).AddColumn(new TableColumn("GEMMs").RightAligned())
            .AddColumn(new TableColumn("graph launches").RightAligned()).AddColumn(new TableColumn("H2D").RightAligned())
            .AddColumn(new TableColumn("D2H").RightAligned()).AddColumn(new TableColumn("host waits").RightAligned());
        foreach (var loop in Enum.GetValues<ConvNet.Gpu.Training.StepLoop>())
        {
            using var model = ConvNet.Gpu.ModelZoo.ModelRegistry.Create("lenet5", cuda, ConvNet.Gpu.Nn.Shapes.Image(1, 28, 28), classes: 10);
            using var optimizer = new ConvNet.Gpu.Optimizers.Adam(1e-3f);
            using var trainer = new ConvNet.Gpu.Training.Trainer(model, optimizer);
            var c = ConvNet.Gpu.Training.StepCounts.Measure(trainer, images, labels, loop);
            table.AddRow(loop.ToString(), N(c.Launches), N(c.GemmCalls), N(c.GraphLaunches), N(c.HostToDeviceCopies), N(c.DeviceToHostCopies), N(c.HostWaits));
        }
        console.Render(table);
        console.Line($"Device operations per steady training step (batch {batch}, Adam), counted by {cuda.Name}; launches = our kernels + GEMM calls.");

        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    }

    private static (string, string, double?) Cell(BenchCase c, IBackend backend, double seconds, CancellationToken ct)
    {
        try
        {
            BenchTiming t = OpBenchmark.Measure(c, backend, seconds, ct);
            return (t.MedianMilliseconds.ToString("0.000", CultureInfo.InvariantCulture),
                t.GigaflopsPerSecond(c.Flops).ToString("0.0", CultureInfo.InvariantCulture), t.MedianMilliseconds);
        }
        catch (NotImplementedException)
        {
            return ("not implemented", "", null);
        }
    }
}
