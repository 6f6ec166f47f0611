using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// The per-step device activity of a model's training step on a CUDA backend (the emulated device too) in the three
/// loops of <see cref="StepLoop"/>: launches, GEMMs, copies, host waits and graph launches of one steady-state step
/// (<see cref="StepCounts.Measure"/>), as a markdown table. Each loop trains a fresh copy of the model (same seed) with
/// Adam, softmax cross-entropy and a random batch.
/// </summary>
public static class StepCountTable
{
    /// <summary>Prints the table for <paramref name="model"/> ("lenet5" or "vgg-small") at <paramref name="batch"/>.</summary>
    public static void Print(CudaBackend cuda, string model, int batch, TextWriter output)
    {
        var rng = new Random(11);
        float[] images = Enumerable.Range(0, batch * 784).Select(_ => rng.NextSingle()).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(_ => rng.Next(10)).ToArray();
        output.WriteLine($"# device activity per steady training step: {model}, batch {batch}, Adam, on {cuda.Name}");
        output.WriteLine("| loop         | launches | kernels | GEMMs | graph launches (nodes) | memsets | H2D | D2H | D2D | host waits |");
        output.WriteLine("|--------------|---------:|--------:|------:|-----------------------:|--------:|----:|----:|----:|-----------:|");
        foreach (var loop in Enum.GetValues<StepLoop>())
        {
            using var net = ModelRegistry.Create(model, cuda, Nn.Shapes.Image(1, 28, 28), classes: 10);
            using var optimizer = new Adam(1e-3f);
            using var trainer = new Trainer(net, optimizer);
            var c = StepCounts.Measure(trainer, images, labels, loop);
            output.WriteLine($"| {loop,-12} | {c.Launches,8} | {c.KernelLaunches,7} | {c.GemmCalls,5} | {$"{c.GraphLaunches} ({c.GraphNodes})",22} | " +
                             $"{c.Memsets,7} | {c.HostToDeviceCopies,3} | {c.DeviceToHostCopies,3} | {c.DeviceToDeviceCopies,3} | {c.HostWaits,10} |");
        }
    }
}
