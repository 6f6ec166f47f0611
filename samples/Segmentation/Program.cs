// Binary segmentation with a U-Net (a graph model: encoder, decoder, skip connections) on synthetic shapes: each
// 32x32 image holds a few discs and squares on a noisy background, and the target mask marks the discs' pixels only,
// so the model has to tell the shapes apart rather than threshold brightness. Trained with Trainer.Fit, binary
// cross-entropy on the logits, a one-cycle learning-rate schedule, a horizontal flip that moves image and mask
// together, and IoU as the metric.
// `--quick` (used by CI) trains on fewer images. Checks the test IoU computed here from PredictOutputs against a bar
// and against the trivial all-background and all-foreground answers, and that a reloaded model predicts the same.
using ConvNet.Gpu;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

bool quick = args.Contains("--quick");
using var backend = Backend.Default();
Console.WriteLine($"backend: {backend.Name} ({backend.SelectionReason})");

var image = Shapes.Image(1, ShapesData.Side, ShapesData.Side);
var train = Dataset.FromGenerator(quick ? 1024 : 4000, image, image, ShapesData.Generate, "synthetic shapes (train)");
var test = Dataset.FromGenerator(quick ? 256 : 1000, image, image, (i, x, mask) => ShapesData.Generate(1_000_000 + i, x, mask), "synthetic shapes (test)");
Console.WriteLine($"data: {train} / {test}");

using var model = Models.UNet(backend, image, classes: 1, seed: 3, baseFilters: 8, depth: 2);
Console.WriteLine(model.Summary());

using var optimizer = new Adam(learningRate: 3e-3f);
using var trainer = new Trainer(model, optimizer, new BinaryCrossEntropyWithLogitsLoss());
int epochs = quick ? 6 : 12, batchSize = 16;
var history = trainer.Fit(train, new TrainingOptions
{
    Epochs = epochs,
    BatchSize = batchSize,
    // One-cycle per step: warm up to the optimizer's rate, then anneal to almost zero, so the last weights (and the
    // batch-norm running statistics the test uses) settle.
    Schedule = LearningRateSchedule.OneCycle(totalSteps: epochs * ((train.Count + batchSize - 1) / batchSize)),
    Seed = 1,
    Transforms = new TransformPipeline(new RandomHorizontalFlip()),
    Validation = test,
    Metrics = ["iou"],
    Callbacks = [new ConsoleProgress(style: quick ? ProgressStyle.EpochsOnly : ProgressStyle.Auto)],
});

var result = trainer.Evaluate(test);
Console.WriteLine($"test loss {result.Loss:F4}, pixel accuracy {result.Accuracy:P2}, IoU {result.Metrics.GetValueOrDefault("iou", double.NaN):F4} (Evaluate)");

// The IoU of the thresholded probabilities, counted here over every test pixel.
var inputs = test.Images.ToArray();
var masks = test.Targets.ToArray();
var probabilities = model.PredictOutputs(inputs, test.Count, activation: OutputActivation.Sigmoid);
double iou = Iou(probabilities.Values, masks);
double allForeground = Iou(Enumerable.Repeat(1f, masks.Length).ToArray(), masks);
Console.WriteLine($"IoU of the discs {iou:F4} (all background would score 0, all foreground {allForeground:F4})");
Console.WriteLine("first test image, its mask and the prediction:");
ShapesData.Print(inputs, masks, probabilities.Values);

string path = Path.Combine(Path.GetTempPath(), $"segmentation-sample-{Environment.ProcessId}.ckpt");
model.Save(path);
using var reloaded = Model.Load(path, Backend.Cpu());
File.Delete(path);
var again = reloaded.PredictOutputs(inputs, test.Count, activation: OutputActivation.Sigmoid);
double drift = probabilities.Values.Zip(again.Values, (a, b) => Math.Abs(a - b)).Max();
Console.WriteLine($"reloaded on the CPU: largest probability difference {drift:G3}");

bool ok = iou >= (quick ? 0.75 : 0.85) && iou > 2 * allForeground && drift <= 1e-4 && history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss;
Console.WriteLine(ok ? "SEGMENTATION OK" : "SEGMENTATION FAILED");
return ok ? 0 : 1;

// |prediction ∩ mask| / |prediction ∪ mask| with prediction = probability > 1/2 and mask = target > 1/2.
static double Iou(float[] probabilities, float[] masks)
{
    long intersection = 0, union = 0;
    for (int i = 0; i < masks.Length; i++)
    {
        bool p = probabilities[i] > 0.5f, t = masks[i] > 0.5f;
        if (p && t) intersection++;
        if (p || t) union++;
    }
    return union == 0 ? 1 : (double)intersection / union;
}
