// Train a small CNN in about 20 lines, save it, reload it and check that the reloaded model predicts identically.
using ConvNet.Gpu;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

using var backend = Backend.Default();   // CUDA when a GPU is usable, else the CPU; the reason is printed
Console.WriteLine($"backend: {backend.Name} ({backend.SelectionReason})");

// 512 synthetic 28x28 images: class k has a bright horizontal bar at row 2 + 2k, so a CNN can learn it quickly.
var rng = new Random(1);
var images = new float[512 * 28 * 28];
var labels = new int[512];
for (int i = 0; i < labels.Length; i++)
{
    labels[i] = i % 10;
    for (int p = 0; p < 28 * 28; p++) images[i * 784 + p] = (float)rng.NextDouble() * 0.3f;
    for (int x = 0; x < 28; x++) images[i * 784 + (2 + 2 * labels[i]) * 28 + x] += 1f;
}
var data = new Dataset(images, labels, TensorShape.Of(1, 28, 28), [.. Enumerable.Range(0, 10).Select(k => $"bar {k}")], "synthetic bars");

using var model = new Sequential(backend, inputShape: (1, 28, 28))
    .Add(new Conv2D(8, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2D(2))
    .Add(new Conv2D(16, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2D(2))
    .Add(new Flatten(), new Dense(10));
Console.WriteLine(model.Summary());

using var optimizer = new Adam(learningRate: 3e-3f);
var trainer = new Trainer(model, optimizer);
var history = trainer.Fit(data, new TrainingOptions { Epochs = 3, BatchSize = 32, Seed = 7 });
foreach (var e in history.Epochs) Console.WriteLine($"epoch {e.Epoch}: loss {e.TrainLoss:F4}, accuracy {e.TrainAccuracy:P1}");

string path = Path.Combine(Path.GetTempPath(), $"quickstart-{Environment.ProcessId}.ckpt");
model.Save(path);
using var reloaded = Sequential.Load(path, Backend.Cpu());
var before = model.Evaluate(data);
var after = reloaded.Evaluate(data);
Console.WriteLine($"accuracy before save {before.Accuracy:P2}, after reload on CPU {after.Accuracy:P2}");
File.Delete(path);

// The package must carry a PTX resource for every kernel source (the list is passed in by build/test-package.sh).
var resources = typeof(Tensor).Assembly.GetManifestResourceNames();
var expected = Environment.GetEnvironmentVariable("CONVNET_EXPECTED_KERNELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [];
var missing = expected.Where(k => !resources.Any(r => r.Contains($".{k}.ptx", StringComparison.Ordinal))).ToArray();
Console.WriteLine($"embedded PTX modules: {resources.Count(r => r.EndsWith(".ptx", StringComparison.Ordinal))}");

bool ok = missing.Length == 0 && before.Accuracy == after.Accuracy && history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss;
if (missing.Length > 0) Console.Error.WriteLine($"missing PTX resources for: {string.Join(", ", missing)}");
Console.WriteLine(ok ? "QUICKSTART OK" : "QUICKSTART FAILED");
return ok ? 0 : 1;
