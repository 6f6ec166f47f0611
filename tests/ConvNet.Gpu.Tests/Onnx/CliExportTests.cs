using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Tests.Cli;
using ConvNet.Gpu.Training;
using ConvNet.Gpu.Tests.Infrastructure;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// `convnet export` end to end: a LeNet-5 trained by `convnet train` is exported, and ONNX Runtime, fed the test images
/// normalized with the statistics the file's metadata carries, predicts exactly the classes our model predicts,
/// with probabilities within 1e-5.
/// </summary>
public sealed class CliExportTests
{
    [Fact]
    public async Task A_trained_LeNet5_exports_and_gives_the_same_predictions_in_onnx_runtime()
    {
        string dir = CliHarness.TempDirectory("export");
        CliResult train = await CliHarness.RunAsync(["train", "--model", "lenet5", "--sample", "--limit", "2000", "--epochs", "1",
            "--batch-size", "50", "--device", "cpu", "--seed", "5", "--out", dir]);
        Assert.True(train.ExitCode == ExitCodes.Success, train.ToString());
        string checkpoint = Path.Combine(dir, "best.ckpt"), onnx = Path.Combine(dir, "lenet5.onnx");

        CliResult export = await CliHarness.RunAsync(["export", "--checkpoint", checkpoint, "--onnx", onnx, "--dynamic-batch"]);

        Assert.True(export.ExitCode == ExitCodes.Success, export.ToString());
        Assert.Contains($"Wrote {onnx}", export.Out);
        Assert.Contains("input  'input'  float32 (N, 1, 28, 28)", export.Out);

        Assert.Contains("the model normalizes them itself", export.Out);

        // Our predictions: the checkpoint's model (its first layer normalizes) on the raw test images.
        var test = DataSource.LoadSample().Test;
        using var cpu = Backend.Cpu();
        using var model = Sequential.Load(checkpoint, cpu);
        Assert.IsType<Normalize>(model.Layers[0]);
        using var session = new InferenceSession(onnx);
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("lenet5", meta["convnet.model"]);
        Assert.False(meta.ContainsKey("convnet.normalization_mean"));
        float[] images = test.Images.ToArray();
        Prediction ours = Evaluator.Predict(model, images, test.Count);

        // ONNX Runtime's logits for the same images, then the same softmax and argmax.
        var (logits, dims) = OnnxRuntimeOracle.Run(File.ReadAllBytes(onnx), images, test.Count, 1, 28, 28);
        Assert.Equal([test.Count, 10L], dims);
        var probabilities = new float[logits.Length];
        var classes = new int[test.Count];
        for (int i = 0; i < test.Count; i++)
        {
            var row = logits.AsSpan(i * 10, 10);
            float max = row.ToArray().Max();
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            for (int j = 0; j < 10; j++) probabilities[i * 10 + j] = (float)(Math.Exp(row[j] - max) / sum);
            var p = probabilities.AsSpan(i * 10, 10);
            for (int j = 1; j < 10; j++) if (p[j] > p[classes[i]]) classes[i] = j; // first index of the largest, as Predict

        }
        Assert.Equal(ours.Classes, classes);
        TensorAssert.Close(probabilities, ours.Probabilities, new Tolerance(1e-5, 1e-5), what: "ONNX Runtime vs ours, class probabilities");
        // A trained model, not a constant one: it gets most of the sample's test images right.
        var labels = test.Labels.ToArray();
        Assert.True(classes.Zip(labels).Count(p => p.First == p.Second) > test.Count / 2, "the trained model should beat chance by far");
    }

    [Fact]
    public async Task Export_errors_have_their_exit_codes()
    {
        string dir = CliHarness.TempDirectory("export-errors");
        CliResult missing = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "none.ckpt"), "--onnx", Path.Combine(dir, "m.onnx")]);
        Assert.True(missing.ExitCode == ExitCodes.Checkpoint, missing.ToString());

        File.WriteAllText(Path.Combine(dir, "bad.ckpt"), "not a checkpoint");
        CliResult corrupt = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "bad.ckpt"), "--onnx", Path.Combine(dir, "m.onnx")]);
        Assert.True(corrupt.ExitCode == ExitCodes.Checkpoint, corrupt.ToString());

        CliResult both = await CliHarness.RunAsync(["export", "--checkpoint", "x.ckpt", "--onnx", "m.onnx", "--batch-size", "4", "--dynamic-batch"]);
        Assert.True(both.ExitCode == ExitCodes.Usage, both.ToString());
        Assert.Contains("exclude each other", both.Err);

        CliResult opset = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "bad.ckpt"), "--onnx", "m.onnx", "--opset", "9"]);
        Assert.True(opset.ExitCode == ExitCodes.Usage, opset.ToString());
        Assert.Contains("--opset must be 13 to 21", opset.Err);

        CliResult noDir = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "bad.ckpt"), "--onnx", Path.Combine(dir, "no", "such", "m.onnx")]);
        Assert.True(noDir.ExitCode == ExitCodes.Output, noDir.ToString());
    }
}
