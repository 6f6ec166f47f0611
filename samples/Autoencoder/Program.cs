// A convolutional autoencoder on Fashion-MNIST: the model learns to reproduce its input through a 32x7x7 bottleneck,
// trained with Trainer.Fit and a mean-squared-error loss whose target is the input itself (Dataset.AsAutoencoder).
// Reads the IDX files from the directory given as the first argument, else $CONVNET_DATA, else
// /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist). `--quick` (used by CI) trains on fewer
// images. Checks that the reconstructions beat the best constant guess (the mean training image) by a wide margin,
// that Evaluate's MSE is the one computed here from PredictOutputs, and that a reloaded model reconstructs the same.
using ConvNet.Gpu;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

bool quick = args.Contains("--quick");
string? given = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
if (!FashionMnist.TryFind(given, out var directory, out var reason))
{
    Console.Error.WriteLine($"Fashion-MNIST not found: {reason}. Install it (apt-get install dataset-fashion-mnist) or pass its directory.");
    return 2;
}

using var backend = Backend.Default();
Console.WriteLine($"backend: {backend.Name} ({backend.SelectionReason})");
var (fullTrain, fullTest) = FashionMnist.Load(directory!);
var train = (quick ? fullTrain.Take(6000) : fullTrain).AsAutoencoder();
var test = (quick ? fullTest.Take(1000) : fullTest).AsAutoencoder();
Console.WriteLine($"data: {train} / {test}");

// Encoder 1x28x28 -> 16x14x14 -> 32x7x7; decoder back up with transposed convolutions; a sigmoid keeps pixels in [0, 1].
using var model = new Sequential(backend, inputShape: (1, 28, 28), seed: 5, name: "conv-autoencoder")
    .Add(new Conv2D(16, kernelSize: 3, stride: 2, padding: 1), new ReLU())
    .Add(new Conv2D(32, kernelSize: 3, stride: 2, padding: 1), new ReLU())
    .Add(new ConvTranspose2D(16, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), new ReLU())
    .Add(new ConvTranspose2D(1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), new Sigmoid());
Console.WriteLine(model.Summary());

using var optimizer = new Adam(learningRate: 2e-3f);
using var trainer = new Trainer(model, optimizer, new MeanSquaredErrorLoss());
var history = trainer.Fit(train, new TrainingOptions
{
    Epochs = quick ? 2 : 10,
    BatchSize = 64,
    Seed = 1,
    Validation = test,
    Metrics = ["mae"],
    Callbacks = [new ConsoleProgress(style: quick ? ProgressStyle.EpochsOnly : ProgressStyle.Auto)],
});

// The baseline: predicting the mean training image for every input.
int pixels = 28 * 28;
var trainPixels = train.Images.Span;
var mean = new double[pixels];
for (int i = 0; i < train.Count; i++)
    for (int p = 0; p < pixels; p++) mean[p] += trainPixels[i * pixels + p];
for (int p = 0; p < pixels; p++) mean[p] /= train.Count;
var testPixels = test.Images.ToArray();
double baseline = 0;
for (int i = 0; i < testPixels.Length; i++) baseline += Math.Pow(testPixels[i] - mean[i % pixels], 2);
baseline /= testPixels.Length;

var result = trainer.Evaluate(test);
var reconstruction = model.PredictOutputs(testPixels, test.Count);
double mse = 0;
for (int i = 0; i < testPixels.Length; i++) mse += Math.Pow(reconstruction.Values[i] - testPixels[i], 2);
mse /= testPixels.Length;
Console.WriteLine($"test MSE {result.Loss:F5} (computed here from PredictOutputs: {mse:F5}), MAE {result.Metrics.GetValueOrDefault("mae", double.NaN):F4}; " +
    $"the mean training image scores MSE {baseline:F5}");

string scratch = Path.Combine(Path.GetTempPath(), $"autoencoder-sample-{Environment.ProcessId}");
Directory.CreateDirectory(scratch);
string path = Path.Combine(scratch, "autoencoder.ckpt");
model.Save(path);
using var reloaded = Sequential.Load(path, Backend.Cpu());
var again = reloaded.PredictOutputs(testPixels, test.Count);
double drift = reconstruction.Values.Zip(again.Values, (a, b) => Math.Abs(a - b)).Max();
Console.WriteLine($"reloaded on the CPU: largest difference from the original's reconstructions {drift:G3}");

// Eight test images (top row) and their reconstructions (bottom row), as a PGM image anyone can open.
string picture = Path.Combine(Environment.CurrentDirectory, "reconstructions.pgm");
Pgm.WritePairs(picture, testPixels, reconstruction.Values, count: 8, side: 28);
Console.WriteLine($"wrote {picture}");
Directory.Delete(scratch, recursive: true);

bool ok = mse < 0.25 * baseline && Math.Abs(mse - result.Loss) <= 1e-4 * Math.Max(mse, 1e-6) + 1e-6 && drift <= 1e-4
    && history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss;
Console.WriteLine(ok ? "AUTOENCODER OK" : "AUTOENCODER FAILED");
return ok ? 0 : 1;
