// A custom layer as a first-class citizen: ScaleShift (ScaleShift.cs) subclasses Layer using public IBackend ops only,
// passes a central-difference gradient check, trains inside a model with Trainer.Fit, and, once registered with
// LayerRegistry, saves and loads with the model. `--quick` (used by CI) trains for fewer epochs.
using ConvNet.Gpu;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

bool quick = args.Contains("--quick");
LayerRegistry.Register<ScaleShift>(); // once at start-up: Sequential.Load can now rebuild "ScaleShift" layers

using var backend = Backend.Default();
Console.WriteLine($"backend: {backend.Name} ({backend.SelectionReason})");

// 1. Gradient check on the layer alone, on the CPU: L = Σ G ⊙ y for a random upstream gradient G; the analytic dL/dx,
//    dL/dγ and dL/dβ from Backward against central differences (L summed in float64).
double worst = GradientCheck.Run(new ScaleShift(initialScale: 0.7f, name: "check"), Shapes.Image(3, 4, 5), batch: 2);
Console.WriteLine($"gradient check: largest relative error {worst:G3}");

// 2. Train a model that uses it: class k has a bright bar at row 2 + 2k (as in QuickStart).
var rng = new Random(1);
var images = new float[1024 * 28 * 28];
var labels = new int[1024];
for (int i = 0; i < labels.Length; i++)
{
    labels[i] = i % 10;
    for (int p = 0; p < 28 * 28; p++) images[i * 784 + p] = (float)rng.NextDouble() * 0.3f;
    for (int x = 0; x < 28; x++) images[i * 784 + (2 + 2 * labels[i]) * 28 + x] += 1f;
}
var data = Dataset.FromArrays(images, TensorShape.Of(1, 28, 28), labels, [.. Enumerable.Range(0, 10).Select(k => $"bar {k}")], "synthetic bars");

using var model = new Sequential(backend, inputShape: (1, 28, 28), seed: 3, name: "with-scale-shift")
    .Add(new Conv2D(8, kernelSize: 3, padding: 1), new ScaleShift(initialScale: 0.1f, name: "layer_scale"), new ReLU(), new MaxPool2D(2))
    .Add(new Conv2D(16, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2D(2))
    .Add(new Flatten(), new Dense(10));
Console.WriteLine(model.Summary());
using var optimizer = new Adam(learningRate: 3e-3f);
using var trainer = new Trainer(model, optimizer);
var history = trainer.Fit(data, new TrainingOptions
{
    Epochs = quick ? 3 : 8,
    BatchSize = 32,
    Seed = 7,
    Callbacks = [new ConsoleProgress(style: quick ? ProgressStyle.EpochsOnly : ProgressStyle.Auto)],
});
var trained = model.Layers.OfType<ScaleShift>().Single();
Console.WriteLine($"learned γ: [{string.Join(", ", trained.Parameters[0].Value.ToArray().Select(v => v.ToString("F3")))}]");

// 3. Save and load: the registry rebuilds the custom layer from its config; the weights come back by name.
string path = Path.Combine(Path.GetTempPath(), $"custom-layer-{Environment.ProcessId}.ckpt");
model.Save(path);
using var reloaded = Sequential.Load(path, Backend.Cpu());
File.Delete(path);
var before = model.Predict(images, labels.Length);
var after = reloaded.Predict(images, labels.Length);
double drift = before.Probabilities.Zip(after.Probabilities, (a, b) => Math.Abs(a - b)).Max();
bool restored = reloaded.Layers.OfType<ScaleShift>().Single() is { InitialScale: 0.1f, Name: "layer_scale" };
var accuracy = model.Evaluate(data).Accuracy;
Console.WriteLine($"accuracy {accuracy:P2}; reloaded on the CPU: ScaleShift {(restored ? "restored" : "MISSING")}, largest probability difference {drift:G3}");

bool ok = worst < 1e-3 && restored && drift <= 1e-5 && accuracy > 0.9 && history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss;
Console.WriteLine(ok ? "CUSTOM LAYER OK" : "CUSTOM LAYER FAILED");
return ok ? 0 : 1;
