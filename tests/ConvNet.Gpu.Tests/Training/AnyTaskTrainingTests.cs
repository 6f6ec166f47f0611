using ConvNet.Gpu.Data;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Trainer, Evaluate and Predict with every loss and every kind of target (issue 16, item 1): regression, an
/// autoencoder, multi-label vectors, segmentation masks, class indices with focal loss. The metrics are checked against
/// float64 host oracles computed from PredictOutputs; mismatched data fails before the first batch.
/// </summary>
public sealed class AnyTaskTrainingTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    // y = 2 x0 - x1 + 0.5 x2 + 0.25, x uniform in [-1, 1].
    private static Dataset Regression(int count, ulong seed) => Dataset.FromGenerator(count, TensorShape.Vector(3), TensorShape.Vector(1),
        (i, x, y) =>
        {
            var r = new HostRandom(HostRandom.Derive(seed, (ulong)i));
            for (int k = 0; k < 3; k++) x[k] = r.NextUniform(-1f, 1f);
            y[0] = 2 * x[0] - x[1] + 0.5f * x[2] + 0.25f;
        });

    // Label c is on when feature c is positive (3 independent labels).
    private static Dataset MultiLabel(int count, ulong seed)
    {
        var r = new HostRandom(seed);
        var x = new float[count * 3];
        var t = new float[count * 3];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = r.NextUniform(-1f, 1f);
            t[i] = x[i] > 0 ? 1f : 0f;
        }
        return Dataset.MultiLabel(x, TensorShape.Vector(3), t, ["a", "b", "c"]);
    }

    // 1x6x6 images with a bright square; the mask marks the square.
    private static Dataset Masks(int count, ulong seed) => Dataset.FromGenerator(count, Shapes.Image(1, 6, 6), Shapes.Image(1, 6, 6),
        (i, x, m) =>
        {
            var r = new HostRandom(HostRandom.Derive(seed, (ulong)i));
            int top = (int)(r.NextDouble() * 3), left = (int)(r.NextDouble() * 3);
            for (int p = 0; p < 36; p++) x[p] = r.NextUniform(0f, 0.2f);
            for (int dy = 0; dy < 3; dy++)
                for (int dx = 0; dx < 3; dx++)
                {
                    x[(top + dy) * 6 + left + dx] += 0.8f;
                    m[(top + dy) * 6 + left + dx] = 1f;
                }
        });

    private Sequential Linear(int inputs, int outputs) => new Sequential(_b, Shapes.Features(inputs), seed: 3).Add(new Dense(outputs));

    private Sequential ConvNet(int outChannels) =>
        new Sequential(_b, (1, 6, 6), seed: 4).Add(new Conv2D(8, 3, padding: 1), new ReLU(), new Conv2D(outChannels, 3, padding: 1));

    [Fact]
    public void A_regression_model_trains_with_mse_and_reports_mse_and_mae_from_its_outputs()
    {
        var train = Regression(256, 1);
        var test = Regression(64, 2);
        using var model = Linear(3, 1);
        using var opt = new Adam(0.05f);
        using var loss = new MeanSquaredErrorLoss();
        var trainer = new Trainer(model, opt, loss);
        var history = trainer.Fit(train, new TrainingOptions { Epochs = 30, BatchSize = 32, Validation = test, Metrics = ["mae"] });
        Assert.True(history.Epochs[^1].TrainLoss < 0.01 * history.Epochs[0].TrainLoss, $"{history.Epochs[0].TrainLoss} -> {history.Epochs[^1].TrainLoss}");
        Assert.True(double.IsNaN(history.Epochs[^1].TrainAccuracy));
        Assert.Contains("val_mae", history.Epochs[^1].Values.Keys);

        var result = trainer.Evaluate(test);
        Assert.Null(result.ConfusionMatrix);
        Assert.True(double.IsNaN(result.Accuracy));
        Assert.Equal(64, result.Count);
        var outputs = model.PredictOutputs(test.Images.Span, test.Count);
        double se = 0, ae = 0;
        var t = test.Targets.Span;
        for (int i = 0; i < test.Count; i++)
        {
            double d = (double)outputs.ValuesOf(i)[0] - t[i];
            se += d * d;
            ae += Math.Abs(d);
        }
        Assert.Equal(se / test.Count, result.Metrics["mse"], 5);
        Assert.Equal(ae / test.Count, result.Metrics["mae"], 5);
        Assert.Equal(se / test.Count, result.Loss, 4);
        Assert.Equal(history.Epochs[^1].Values["val_mae"], result.Metrics["mae"], 6);
    }

    [Theory]
    [InlineData("l1")]
    [InlineData("huber")]
    public void L1_and_Huber_train_a_regression_model(string name)
    {
        using var model = Linear(3, 1);
        using var opt = new Adam(0.05f);
        using Loss loss = name == "l1" ? new L1Loss() : new HuberLoss(0.5f);
        var history = new Trainer(model, opt, loss).Fit(Regression(256, 3), new TrainingOptions { Epochs = 20, BatchSize = 32 });
        Assert.True(history.Epochs[^1].TrainLoss < 0.1 * history.Epochs[0].TrainLoss, $"{history.Epochs[0].TrainLoss} -> {history.Epochs[^1].TrainLoss}");
    }

    [Fact]
    public void An_autoencoder_trains_on_its_input_and_Predict_points_to_PredictOutputs()
    {
        var images = Masks(64, 5);
        var auto = Dataset.Autoencoder(images.Images.ToArray(), images.SampleShape);
        using var model = ConvNet(1);
        using var opt = new Adam(0.01f);
        using var loss = new MeanSquaredErrorLoss();
        var trainer = new Trainer(model, opt, loss);
        var history = trainer.Fit(auto, new TrainingOptions { Epochs = 15, BatchSize = 16 });
        Assert.True(history.Epochs[^1].TrainLoss < 0.3 * history.Epochs[0].TrainLoss, $"{history.Epochs[0].TrainLoss} -> {history.Epochs[^1].TrainLoss}");

        var e = Assert.Throws<InvalidOperationException>(() => model.Predict(auto.Images.Span, auto.Count));
        Assert.Contains("PredictOutputs", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("add Flatten and Dense", e.Message, StringComparison.Ordinal);

        // PredictOutputs is the inference forward pass, batch by batch.
        var outputs = model.PredictOutputs(auto.Images.Span, auto.Count, batchSize: 7);
        using var input = _b.Allocate(TensorShape.Nchw(auto.Count, 1, 6, 6));
        input.Upload(auto.Images.Span);
        var direct = model.Forward(input, training: false).ToArray();
        Assert.Equal(direct, outputs.Values);
        Assert.Equal(Shapes.Image(1, 6, 6).ElementCount, outputs.SampleShape.ElementCount);
    }

    [Fact]
    public void A_multi_label_model_trains_with_bce_and_its_f1_matches_an_oracle()
    {
        var train = MultiLabel(300, 7);
        var test = MultiLabel(100, 8);
        using var model = Linear(3, 3);
        using var opt = new Adam(0.05f);
        using var loss = new BinaryCrossEntropyWithLogitsLoss();
        var trainer = new Trainer(model, opt, loss);
        var history = trainer.Fit(train, new TrainingOptions { Epochs = 10, BatchSize = 30, Validation = test, Metrics = ["f1"] });
        var last = history.Epochs[^1];
        Assert.True(last.TrainAccuracy > 0.9, $"element accuracy {last.TrainAccuracy}");
        Assert.InRange(last.Values["f1"], 0.0, 1.0);

        var result = trainer.Evaluate(test);
        var p = model.PredictOutputs(test.Images.Span, test.Count, activation: OutputActivation.Sigmoid);
        var t = test.Targets.Span;
        long correct = 0;
        var tp = new long[3];
        var fp = new long[3];
        var fn = new long[3];
        for (int i = 0; i < p.Values.Length; i++)
        {
            bool predicted = p.Values[i] > 0.5f, actual = t[i] > 0.5f;
            if (predicted == actual) correct++;
            int c = i % 3;
            if (predicted && actual) tp[c]++;
            else if (predicted) fp[c]++;
            else if (actual) fn[c]++;
        }
        double f1 = Enumerable.Range(0, 3).Average(c => 2.0 * tp[c] / (2 * tp[c] + fp[c] + fn[c]));
        Assert.Equal((double)correct / p.Values.Length, result.Accuracy, 9);
        Assert.Equal(f1, result.Metrics["f1"], 9);
        Assert.Equal(result.Metrics["f1"], last.Values["val_f1"], 9);
        Assert.Contains("precision", result.Metrics.Keys);
        Assert.Contains("recall", result.Metrics.Keys);
    }

    [Fact]
    public void A_segmentation_model_trains_on_masks_and_its_iou_matches_an_oracle()
    {
        var train = Masks(96, 9);
        var test = Masks(32, 10);
        using var model = ConvNet(1);
        using var opt = new Adam(0.01f);
        using var loss = new BinaryCrossEntropyWithLogitsLoss();
        var trainer = new Trainer(model, opt, loss);
        var history = trainer.Fit(train, new TrainingOptions { Epochs = 10, BatchSize = 16, Metrics = ["iou"] });
        Assert.True(history.Epochs[^1].Values["iou"] > 0.8, $"iou {history.Epochs[^1].Values["iou"]}");

        var result = trainer.Evaluate(test);
        var z = model.PredictOutputs(test.Images.Span, test.Count);
        var m = test.Targets.Span;
        long inter = 0, union = 0;
        for (int i = 0; i < z.Values.Length; i++)
        {
            bool predicted = z.Values[i] > 0f, actual = m[i] > 0.5f;
            if (predicted && actual) inter++;
            if (predicted || actual) union++;
        }
        Assert.Equal((double)inter / union, result.Metrics["iou"], 9);
    }

    [Fact]
    public void Focal_loss_trains_a_classifier_through_Fit_and_top_k_is_reported()
    {
        var data = SyntheticData.Squares(96, 11);
        using var model = new Sequential(_b, (1, 8, 8), seed: 2).Add(new Flatten(), new Dense(16), new ReLU(), new Dense(3));
        using var opt = new Adam(0.01f);
        using var loss = new FocalLoss(2f);
        var trainer = new Trainer(model, opt, loss);
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 5, BatchSize = 16, Metrics = ["top2_accuracy"], Validation = data });
        Assert.True(history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss);
        Assert.True(history.Epochs[^1].Values["val_top2_accuracy"] >= history.Epochs[^1].ValidationAccuracy);
        var result = trainer.Evaluate(data, metrics: ["top1_accuracy"]);
        Assert.NotNull(result.ConfusionMatrix);
        Assert.Equal(result.Accuracy, result.Metrics["top1_accuracy"], 12);
    }

    [Fact]
    public void Data_that_does_not_fit_the_loss_fails_before_the_first_batch()
    {
        using var model = Linear(3, 1);
        using var opt = new Sgd(0.1f);
        var before = model.Parameters[0].Value.ToArray();
        using var mse = new MeanSquaredErrorLoss();
        var classes = Dataset.FromArrays(new float[6], TensorShape.Vector(3), [0, 0], ["only"]);
        var e = Assert.Throws<ConvNetArgumentException>(() => new Trainer(model, opt, mse).Fit(classes, 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("class-index labels", e.Message, StringComparison.Ordinal);

        var wrongShape = Dataset.FromArrays(new float[6], TensorShape.Vector(3), new float[4], TensorShape.Vector(2));
        var s = Assert.Throws<ShapeMismatchException>(() => new Trainer(model, opt, mse).Fit(wrongShape, 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("(F=2)", s.Message, StringComparison.Ordinal);

        var values = Dataset.FromArrays(new float[6], TensorShape.Vector(3), new float[] { 0.5f, 2f }, TensorShape.Vector(1));
        using var bce = new BinaryCrossEntropyWithLogitsLoss();
        var b = Assert.Throws<ConvNetArgumentException>(() => new Trainer(model, opt, bce).Fit(values, 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("[0, 1]", b.Message, StringComparison.Ordinal);
        Assert.Contains(" 2 at sample 1", b.Message, StringComparison.Ordinal);

        var c = Assert.Throws<ConvNetArgumentException>(() => new Trainer(model, opt).Fit(values, 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("takes class-index targets", c.Message, StringComparison.Ordinal);
        Assert.Equal(0, opt.StepCount);
        Assert.Equal(before, model.Parameters[0].Value.ToArray());
    }
}
