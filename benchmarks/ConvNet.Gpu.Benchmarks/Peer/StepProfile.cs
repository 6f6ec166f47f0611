using System.Diagnostics;
using ConvNet.Gpu.Benchmarks.EndToEnd;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Benchmarks.Harness;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// Where a training step's time goes: median and minimum synchronized milliseconds per layer, forward and backward,
/// plus the loss and the optimizer update, for one model on one backend; on CUDA also the convolution algorithm each
/// pass ran, why, and the autotuner's timings. On a loaded machine the minimum is the robust figure (a part well under
/// the scheduler's time slice usually runs undisturbed at least once); the medians inflate.
/// Usage: <c>ConvNet.Gpu.Benchmarks profile-step [lenet5|vgg-small] [--device cpu|cuda] [--threads N] [--batch N] [--repeats N]</c>.
/// </summary>
public static class StepProfile
{
    /// <summary>Runs the profile and prints a table.</summary>
    public static int Run(string[] args)
    {
        string model = "lenet5", device = "cpu";
        int? threads = null;
        int batch = 64, repeats = 30;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device": device = args[++i]; break;
                case "--threads": threads = int.Parse(args[++i]); break;
                case "--batch": batch = int.Parse(args[++i]); break;
                case "--repeats": repeats = int.Parse(args[++i]); break;
                default: model = args[i]; break;
            }
        }
        string name = BenchmarkBackends.FromDevice(device);
        using IBackend backend = name == BenchmarkBackends.Cpu ? Backend.Cpu(threads) : BenchmarkBackends.Create(name);
        using var w = new TrainingWorkload(backend, model, batch);
        for (int i = 0; i < 3; i++) w.Step();
        if (w.Model is not ConvNet.Gpu.Nn.Sequential)
            throw new ArgumentException($"profile-step times a stack of layers; '{model}' is a {w.Model.GetType().Name} model");
        var layers = w.Model.Layers;
        var forward = new List<double>[layers.Count];
        var backward = new List<double>[layers.Count];
        for (int l = 0; l < layers.Count; l++) (forward[l], backward[l]) = ([], []);
        List<double> lossForward = [], lossBackward = [], update = [], total = [];
        var process = System.Diagnostics.Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var input = w.Images;
        var labels = w.Labels;
        for (int r = 0; r < repeats; r++)
        {
            long start = Stopwatch.GetTimestamp();
            var h = input;
            for (int l = 0; l < layers.Count; l++) h = Timed(backend, forward[l], () => layers[l].Forward(h, true));
            Timed(backend, lossForward, () => w.Loss.Forward(h, labels));
            Tensor? g = Timed(backend, lossBackward, () => w.Loss.Backward());
            for (int l = layers.Count - 1; l >= 0 && g is not null; l--) g = Timed(backend, backward[l], () => layers[l].Backward(g));
            Timed(backend, update, () => { w.Optimizer.Step(w.Model.Parameters); return 0; });
            total.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        process.Refresh();
        double cpuPerStep = (process.TotalProcessorTime - cpu0).TotalMilliseconds / repeats;
        string loadAverage = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        Console.WriteLine($"# {model} ({w.Model.TrainableParameterCount:N0} parameters), batch {batch}, {backend.Description}; {repeats} steps (each part synchronized); load {loadAverage}");
        Console.WriteLine($"| {"layer",-22} | {"fwd median",10} | {"fwd min",9} | {"bwd median",10} | {"bwd min",9} |");
        Console.WriteLine($"|{new string('-', 24)}|{new string('-', 12)}|{new string('-', 11)}|{new string('-', 12)}|{new string('-', 11)}|");
        double sumOfMinima = 0;
        for (int l = 0; l < layers.Count; l++)
        {
            bool hasBackward = backward[l].Count > 0;
            sumOfMinima += forward[l].Min() + (hasBackward ? backward[l].Min() : 0);
            Console.WriteLine($"| {layers[l].Name,-22} | {Median(forward[l]),10:F3} | {forward[l].Min(),9:F3} | " +
                $"{(hasBackward ? Median(backward[l]).ToString("F3") : "-"),10} | {(hasBackward ? backward[l].Min().ToString("F3") : "-"),9} |");
        }
        sumOfMinima += lossForward.Min() + lossBackward.Min() + update.Min();
        Console.WriteLine($"| {"loss",-22} | {Median(lossForward),10:F3} | {lossForward.Min(),9:F3} | {Median(lossBackward),10:F3} | {lossBackward.Min(),9:F3} |");
        Console.WriteLine($"| {"optimizer step",-22} | {Median(update),10:F3} | {update.Min(),9:F3} | {"",10} | {"",9} |");
        Console.WriteLine($"| {"whole step",-22} | {Median(total),10:F3} | {total.Min(),9:F3} | {"",10} | {"",9} |");
        Console.WriteLine($"| {"sum of the minima",-22} | {"",10} | {sumOfMinima,9:F3} | {"",10} | {"",9} |");
        Console.WriteLine($"| {"process CPU time/step",-22} | {cpuPerStep,10:F3} | {"",9} | {"",10} | {"",9} |");
        if (backend is CpuBackend cpu) PrintConvAlgorithms(cpu, layers, batch);
        if (backend is Backends.Cuda.CudaBackend counted)
        {
            Console.WriteLine();
            StepCountTable.Print(counted, model, batch, Console.Out);
        }
        if (backend is Backends.Cuda.CudaBackend cuda)
        {
            // Which convolution algorithm each pass of each layer ran, and why (with the autotuner's timings on a GPU).
            Console.WriteLine();
            Console.WriteLine($"| {"conv pass",-16} | {"geometry",-58} | {"algorithm",-17} | reason / timings |");
            Console.WriteLine($"|{new string('-', 18)}|{new string('-', 60)}|{new string('-', 19)}|---|");
            foreach (var c in cuda.ConvAlgorithmChoices)
            {
                string timings = string.Join(", ", c.TimingsMilliseconds.Select(t => $"{t.Key} {t.Value:F3} ms"));
                var g = c.Geometry;
                string shape = $"N{g.N} C{g.C} {g.H}x{g.W} K{g.K} {g.KH}x{g.KW} s{g.SH} p{g.PadTop} d{g.DH} g{g.Groups}";
                Console.WriteLine($"| {c.Pass,-16} | {shape,-58} | {c.Algorithm,-17} | {c.Reason}{(timings.Length > 0 ? $"; {timings}" : "")} |");
            }
        }
        return 0;
    }

    /// <summary>The CPU backend's algorithm choice for every pass of every convolution layer (what ran above).</summary>
    private static void PrintConvAlgorithms(CpuBackend cpu, IReadOnlyList<Nn.Layer> layers, int batch)
    {
        Console.WriteLine();
        Console.WriteLine("CPU convolution algorithms (CpuBackend.ChooseConvAlgorithm):");
        foreach (var layer in layers)
        {
            if (layer is not Nn.Conv2D conv) continue;
            var g = conv.Spec.Resolve(Nn.Shapes.Batch(conv.InputShape, batch), conv.OutChannels);
            Console.WriteLine($"  {layer.Name} ({g}):");
            foreach (var pass in new[] { CpuConvPass.Forward, CpuConvPass.BackwardData, CpuConvPass.BackwardWeights })
                Console.WriteLine($"    {cpu.ChooseConvAlgorithm(g, pass)}");
        }
    }

    private static T Timed<T>(IBackend backend, List<double> into, Func<T> run)
    {
        long t0 = Stopwatch.GetTimestamp();
        var result = run();
        backend.Synchronize();
        into.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        return result;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count == 0 ? double.NaN : s[s.Count / 2];
    }
}
