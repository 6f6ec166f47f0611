using System.Text.Json.Nodes;
using System.Globalization;
using System.Text.Json;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Protos;
using ConvNet.Gpu.Tests.Cli;
using ConvNet.Gpu.Training;
using Google.Protobuf;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// `convnet train --onnx` end to end: PyTorch's pre-activation ResNet fine-tunes from its imported weights (its test
/// loss goes down from the imported model's), with the normalization measured on the training data as PyTorch's was;
/// a file written by `convnet export` fine-tunes with the normalization its metadata records; bad files, a missing
/// file and conflicting options fail with their exit codes.
/// </summary>
public sealed class CliOnnxFineTuneTests
{
    private static double[] TestLosses(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        return doc.RootElement.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("test_loss").GetDouble()).ToArray();
    }

    [Fact]
    public async Task A_PyTorch_ResNet_imports_and_fine_tunes_with_its_test_loss_going_down()
    {
        var sample = DataSource.LoadSample();
        var measured = Normalization.FromDataset(sample.Train);
        var reference = OnnxFixtures.ReferenceOf("resnet_preact");
        // PyTorch normalized with the same statistics of the same images (float32 vs float64 sums aside).
        Assert.Equal(double.Parse(reference.Json["normalization_mean"]!.GetValue<string>(), CultureInfo.InvariantCulture), measured.Mean, 1e-5);
        Assert.Equal(double.Parse(reference.Json["normalization_std"]!.GetValue<string>(), CultureInfo.InvariantCulture), measured.Std, 1e-5);
        double before;
        using (var cpu = Backend.Cpu())
        using (var imported = OnnxModel.Load(OnnxFixtures.PathOf("resnet_preact.onnx"), cpu))
            before = Evaluator.Evaluate(imported, sample.Test, normalization: measured).Loss;

        string dir = CliHarness.TempDirectory("onnx-finetune");
        CliResult train = await CliHarness.RunAsync(["train", "--onnx", OnnxFixtures.PathOf("resnet_preact.onnx"), "--sample", "--epochs", "1",
            "--batch-size", "50", "--lr", "0.002", "--device", "cpu", "--seed", "5", "--out", dir]);

        Assert.True(train.ExitCode == ExitCodes.Success, train.ToString());
        Assert.Contains("input normalization measured on the training data (the file records none)", train.Out);
        double after = Assert.Single(TestLosses(dir));
        Assert.True(after < before, $"test loss {before:F4} (imported) -> {after:F4} after one fine-tuning epoch");

        // The fine-tuned checkpoint is a graph model that exports again.
        string onnx = Path.Combine(dir, "tuned.onnx");
        CliResult export = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "final.ckpt"), "--onnx", onnx]);
        Assert.True(export.ExitCode == ExitCodes.Success, export.ToString());
        // The normalization measured for the fine-tuning is the model's first layer, in the checkpoint and in the export.
        var layers = SavedCheckpoint.Read(Path.Combine(dir, "final.ckpt")).Architecture["layers"]!.AsArray();
        Assert.Equal("Normalize", layers[0]!["type"]!.GetValue<string>());
        Assert.Equal(measured.Mean, layers[0]!["mean"]![0]!.GetValue<float>(), 1e-5);
        Assert.False(OnnxModel.ReadMetadata(onnx).ContainsKey(TrainingSession.MeanKey));
    }

    [Fact]
    public async Task A_convnet_export_fine_tunes_with_the_normalization_its_metadata_records()
    {
        string dir = CliHarness.TempDirectory("onnx-roundtrip");
        CliResult first = await CliHarness.RunAsync(["train", "--model", "lenet5", "--sample", "--limit", "300", "--epochs", "1",
            "--batch-size", "50", "--device", "cpu", "--seed", "5", "--out", Path.Combine(dir, "a")]);
        Assert.True(first.ExitCode == ExitCodes.Success, first.ToString());
        string onnx = Path.Combine(dir, "lenet5.onnx");
        CliResult export = await CliHarness.RunAsync(["export", "--checkpoint", Path.Combine(dir, "a", "final.ckpt"), "--onnx", onnx]);
        Assert.True(export.ExitCode == ExitCodes.Success, export.ToString());

        // Fine-tuned on other images (--limit 200 measures other statistics): the file's normalization is kept.
        CliResult tune = await CliHarness.RunAsync(["train", "--onnx", onnx, "--sample", "--limit", "200", "--epochs", "1",
            "--batch-size", "50", "--device", "cpu", "--out", Path.Combine(dir, "b")]);
        Assert.True(tune.ExitCode == ExitCodes.Success, tune.ToString());
        // The export carries the Normalize layer as its first nodes (Sub, Div), which import as one Normalize layer: kept.
        Assert.Contains("input normalization the model's own", tune.Out);
        var original = (JsonObject)SavedCheckpoint.Read(Path.Combine(dir, "a", "final.ckpt")).Architecture["layers"]![0]!;
        var tuned = SavedCheckpoint.Read(Path.Combine(dir, "b", "final.ckpt")).Architecture["layers"]!.AsArray();
        Assert.Equal("Normalize", tuned[0]!["type"]!.GetValue<string>());
        Assert.Equal(original["mean"]![0]!.GetValue<float>(), tuned[0]!["mean"]![0]!.GetValue<float>());
        Assert.Equal(original["std"]![0]!.GetValue<float>(), tuned[0]!["std"]![0]!.GetValue<float>());
    }

    [Fact]
    public async Task Bad_files_missing_files_and_conflicting_options_have_their_exit_codes()
    {
        string dir = CliHarness.TempDirectory("onnx-finetune-errors");
        var model = ModelProto.Parser.ParseFrom(OnnxFixtures.Model("lenet5"));
        model.Graph.Node.First(n => n.OpType == "Relu").OpType = "Gelu";
        string gelu = Path.Combine(dir, "gelu.onnx");
        File.WriteAllBytes(gelu, model.ToByteArray());
        CliResult unsupported = await CliHarness.RunAsync(["train", "--onnx", gelu, "--sample", "--limit", "100", "--epochs", "1", "--device", "cpu", "--out", Path.Combine(dir, "o")]);
        Assert.True(unsupported.ExitCode == ExitCodes.Checkpoint, unsupported.ToString());
        Assert.Contains($"cannot import {gelu}: node '/Relu' (Gelu)", unsupported.Err);

        string truncated = Path.Combine(dir, "cut.onnx");
        File.WriteAllBytes(truncated, OnnxFixtures.Model("lenet5")[..5000]);
        CliResult cut = await CliHarness.RunAsync(["train", "--onnx", truncated, "--sample", "--limit", "100", "--epochs", "1", "--device", "cpu", "--out", Path.Combine(dir, "o")]);
        Assert.True(cut.ExitCode == ExitCodes.Checkpoint, cut.ToString());
        Assert.Contains("cut short", cut.Err);

        CliResult missing = await CliHarness.RunAsync(["train", "--onnx", Path.Combine(dir, "none.onnx"), "--sample", "--device", "cpu"]);
        Assert.True(missing.ExitCode == ExitCodes.Checkpoint, missing.ToString());
        Assert.Contains("does not exist", missing.Err);

        CliResult both = await CliHarness.RunAsync(["train", "--onnx", gelu, "--model", "lenet5"]);
        Assert.True(both.ExitCode == ExitCodes.Usage, both.ToString());
        Assert.Contains("--onnx and --model exclude each other", both.Err);
        CliResult resume = await CliHarness.RunAsync(["train", "--onnx", gelu, "--resume", "last.ckpt"]);
        Assert.True(resume.ExitCode == ExitCodes.Usage, resume.ToString());
        Assert.Contains("--onnx and --resume exclude each other", resume.Err);
    }
}
