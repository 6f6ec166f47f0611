using System.Diagnostics;
using ConvNet.Gpu.Benchmarks.EndToEnd;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Benchmarks.Harness;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// Where a training step's time goes: median synchronized milliseconds per layer, forward and backward, plus the
/// loss and the optimizer update, for one model on one backend; on CUDA also the convolution algorithm each pass ran,
/// why, and the autotuner's timings.
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
        List<double> loss = [], update = [], total = [];
        var input = w.Images;
        var labels = w.Labels;
        for (int r = 0; r < repeats; r++)
        {
            long start = Stopwatch.GetTimestamp();
            var h = input;
            for (int l = 0; l < layers.Count; l++) h = Timed(backend, forward[l], () => layers[l].Forward(h, true));
            Timed(backend, loss, () => w.Loss.Forward(h, labels));
            Tensor? g = Timed(backend, loss, () => w.Loss.Backward());
            for (int l = layers.Count - 1; l >= 0 && g is not null; l--) g = Timed(backend, backward[l], () => layers[l].Backward(g));
            Timed(backend, update, () => { w.Optimizer.Step(w.Model.Parameters); return 0; });
            total.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        Console.WriteLine($"# {model} ({w.Model.TrainableParameterCount:N0} parameters), batch {batch}, {backend.Description}; median ms of {repeats} steps (each part synchronized)");
        Console.WriteLine($"| {"layer",-22} | {"forward",9} | {"backward",9} |");
        Console.WriteLine($"|{new string('-', 24)}|{new string('-', 11)}|{new string('-', 11)}|");
        for (int l = 0; l < layers.Count; l++)
            Console.WriteLine($"| {layers[l].Name,-22} | {Median(forward[l]),9:F3} | {(backward[l].Count > 0 ? Median(backward[l]).ToString("F3") : "-"),9} |");
        Console.WriteLine($"| {"loss (fwd+bwd, x2)",-22} | {Median(loss),9:F3} | {"",9} |");
        Console.WriteLine($"| {"optimizer step",-22} | {Median(update),9:F3} | {"",9} |");
        Console.WriteLine($"| {"whole step",-22} | {Median(total),9:F3} | {"",9} |");
        if (backend is CpuBackend cpu) PrintConvAlgorithms(cpu, layers, batch);
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
