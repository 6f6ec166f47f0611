// CIFAR-10 training with augmentation. Reads a real cifar-10-batches-bin folder when given one
// (`dotnet run -- /data/cifar-10-batches-bin`); otherwise it first writes a synthetic data set in exactly the CIFAR-10
// binary layout (data_batch_1..5.bin, test_batch.bin, batches.meta.txt) and trains on that. Shows: the CIFAR-10 reader,
// a stratified train/validation split, per-channel normalization inside the model (so the saved model takes raw
// pixels), seeded augmentation (random crop with padding, horizontal flip) made on a worker thread ahead of the step,
// and a save/load round trip. `--quick` (used by CI) trains on fewer images for fewer epochs.
using ConvNet.Gpu;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

bool quick = args.Contains("--quick");
string? given = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));

using var backend = Backend.Default();
Console.WriteLine($"backend: {backend.Name} ({backend.SelectionReason})");

string scratch = Path.Combine(Path.GetTempPath(), $"cifar-sample-{Environment.ProcessId}");
string folder = given ?? SyntheticCifar.Write(Path.Combine(scratch, Cifar10.FolderName), perTrainFile: quick ? 400 : 2000, testCount: quick ? 500 : 2000);
var (all, test) = Cifar10.Load(folder);
var (train, validation) = all.Split(validationFraction: 0.1, seed: 1, stratified: true);
Console.WriteLine($"data: {train.Count} training, {validation.Count} validation (stratified), {test.Count} test images of {train.SampleShape} from {folder}");

// The per-channel statistics are measured on the training split and become the model's first layer.
var normalize = Normalize.FromDataset(train, "normalize");
Console.WriteLine($"normalize: mean [{string.Join(", ", normalize.Mean.Select(m => m.ToString("F3")))}], std [{string.Join(", ", normalize.Std.Select(s => s.ToString("F3")))}]");
using var model = new Sequential(backend, inputShape: (3, 32, 32), seed: 7, name: "cifar-small")
    .Add(normalize)
    .Add(new Conv2D(16, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2D(2))
    .Add(new Conv2D(32, kernelSize: 3, padding: 1), new ReLU(), new MaxPool2D(2))
    .Add(new Conv2D(64, kernelSize: 3, padding: 1), new ReLU(), new GlobalAvgPool2D())
    .Add(new Dense(train.ClassCount));
Console.WriteLine(model.Summary());

// Augmentation: every draw depends only on (seed, epoch, sample index), so the batches are the same with any number of
// workers and a run resumed mid-epoch sees the same images. One worker thread prepares batches ahead of the step.
using var optimizer = new Adam(learningRate: 3e-3f);
using var trainer = new Trainer(model, optimizer);
var history = trainer.Fit(train, new TrainingOptions
{
    Epochs = quick ? 6 : 15,
    BatchSize = 64,
    Seed = 11,
    Transforms = new TransformPipeline(new RandomCrop(32, padding: 4), new RandomHorizontalFlip()),
    DataWorkers = 1,
    Validation = validation,
    Callbacks = [new ConsoleProgress(style: quick ? ProgressStyle.EpochsOnly : ProgressStyle.Auto)],
});
double firstLoss = history.Epochs[0].TrainLoss, lastLoss = history.Epochs[^1].TrainLoss;

var result = model.Evaluate(test);
Console.WriteLine($"test accuracy {result.Accuracy:P2}, macro F1 {result.ConfusionMatrix!.MacroF1:F3}");
Console.WriteLine(result.ConfusionMatrix!.ToString(test.ClassNames));

// The normalization is inside the checkpoint: the reloaded model takes the same raw pixels and predicts the same.
string path = Path.Combine(scratch, "cifar-small.ckpt");
Directory.CreateDirectory(scratch);
model.Save(path);
using var reloaded = Sequential.Load(path, Backend.Cpu());
var before = model.Predict(test.Images.Span, test.Count);
var after = reloaded.Predict(test.Images.Span, test.Count);
bool samePredictions = before.Classes.SequenceEqual(after.Classes);
Console.WriteLine($"reloaded on the CPU from {Path.GetFileName(path)}: {(samePredictions ? "same" : "DIFFERENT")} predictions on the raw test pixels");
if (given is null) Directory.Delete(scratch, recursive: true);
else File.Delete(path);

// Synthetic data is easy; a real CIFAR-10 folder gets a real-data bar instead (chance is 10%).
double bar = given is null ? 0.5 : 0.35;
bool ok = result.Accuracy >= bar && lastLoss < firstLoss && samePredictions;
Console.WriteLine(ok ? "CIFAR AUGMENTATION OK" : $"CIFAR AUGMENTATION FAILED (test accuracy {result.Accuracy:P2} vs bar {bar:P0}, loss {firstLoss:F4} -> {lastLoss:F4})");
return ok ? 0 : 1;
