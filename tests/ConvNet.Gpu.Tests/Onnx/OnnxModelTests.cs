using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Protos;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// OnnxModel.Load end to end: PyTorch's exports become trainable graph models that reproduce PyTorch's outputs, the
/// imported pre-activation ResNet fine-tunes with its loss going down, and export -> import -> export keeps every
/// weight and every prediction.
/// </summary>
public sealed class OnnxModelTests : IDisposable
{
    private static readonly Tolerance Within1e5 = new(1e-5, 1e-5);
    private readonly IBackend _backend = Backend.Cpu();

    public void Dispose() => _backend.Dispose();

    private float[] Forward(Model model, float[] input, int batch)
    {
        using var x = _backend.Allocate(Shapes.Batch(model.InputShape, batch));
        x.Upload(input);
        return model.Forward(x, training: false).ToArray();
    }

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet_preact")]
    [InlineData("unet_small")]
    [InlineData("ops_sampler")]
    public void PyTorchExportsImportAndMatchPyTorch(string name)
    {
        var reference = OnnxFixtures.ReferenceOf(name);
        using var model = OnnxModel.Load(OnnxFixtures.PathOf(name + ".onnx"), _backend);
        Assert.Equal(reference.InputShape[1..], model.InputShape.Dimensions);
        Assert.Equal(reference.OutputShape[1..], model.OutputShape.Dimensions);
        TensorAssert.Close(Forward(model, reference.Input, reference.Batch), reference.Output, Within1e5, what: $"{name}: imported model vs PyTorch");
    }

    [Fact]
    public void APyTorchResNetImportsAndFineTunes()
    {
        var reference = OnnxFixtures.ReferenceOf("resnet_preact");
        var normalization = new Normalization(float.Parse(reference.Json["normalization_mean"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            float.Parse(reference.Json["normalization_std"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        var (train, test) = DataSource.LoadSample() is var d ? (d.Train, d.Test) : default;
        using var model = OnnxModel.Load(OnnxFixtures.PathOf("resnet_preact.onnx"), _backend);
        Assert.Contains(model.Layers, l => l is BatchNorm2D);
        Assert.Contains(model.Layers, l => l is ConvNet.Gpu.Nn.Add);

        // Fine-tuning starts from PyTorch's weights: the sample's test accuracy is PyTorch's (1e-5 differences in the
        // logits may flip at most a near-tie or two among 1,000 images).
        var before = Evaluator.Evaluate(model, test, normalization: normalization);
        double pytorchAccuracy = reference.Json["sample_test_accuracy"]!.GetValue<double>();
        Assert.InRange(before.Accuracy, pytorchAccuracy - 0.002, pytorchAccuracy + 0.002);

        using var trainer = new Trainer(model, new Adam(learningRate: 2e-3f));
        var images = train.Images.ToArray();
        normalization.Apply(images);
        var labels = train.Labels.ToArray();
        const int batch = 50, pixels = 28 * 28;
        var losses = new List<float>();
        for (int step = 0; step < 40; step++)
        {
            int start = step * batch % train.Count;
            losses.Add(trainer.TrainStep(images.AsSpan(start * pixels, batch * pixels), labels.AsSpan(start, batch)).Loss);
        }
        var after = Evaluator.Evaluate(model, test, normalization: normalization);
        Assert.True(after.Loss < before.Loss, $"test loss {before.Loss:F4} -> {after.Loss:F4} after 40 fine-tuning steps (train losses {string.Join(", ", losses.Select(l => l.ToString("F3", CultureInfo.InvariantCulture)))})");
        Assert.True(losses.TakeLast(10).Average() < losses.Take(10).Average(), "the training loss goes down");
    }

    public static TheoryData<string> RoundTripCases => new(
        OnnxTestModels.Layers.Keys.Concat(OnnxTestModels.ReadyMade.Keys).Where(k => k != "resnet18").Concat(["lenet5.onnx", "resnet_preact.onnx", "unet_small.onnx", "ops_sampler.onnx"]));

    // Export -> import -> export: the second file holds the first one's weights, value for value and in order (names
    // may change: a residual block's layers become separate graph nodes), and all three models predict the same.
    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void ExportImportExportKeepsWeightsAndPredictions(string name)
    {
        using Model original = name.EndsWith(".onnx", StringComparison.Ordinal) ? OnnxModel.Load(OnnxFixtures.PathOf(name), _backend)
            : OnnxTestModels.Layers.TryGetValue(name, out var f) ? f(_backend) : OnnxTestModels.ReadyMade[name](_backend);
        var rng = new TestRng();
        if (!name.EndsWith(".onnx", StringComparison.Ordinal)) OnnxTestModels.Randomize(original, (ulong)rng.Seed);
        const int batch = 3;
        var first = original.ToOnnxBytes(new OnnxExportOptions { BatchSize = batch });
        using var imported = OnnxModel.Load(first, _backend);
        var second = imported.ToOnnxBytes(new OnnxExportOptions { BatchSize = batch });
        using var again = OnnxModel.Load(second, _backend);

        var w1 = ModelProto.Parser.ParseFrom(first).Graph.Initializer;
        var w2 = ModelProto.Parser.ParseFrom(second).Graph.Initializer;
        Assert.Equal(w1.Count, w2.Count);
        for (int i = 0; i < w1.Count; i++)
        {
            Assert.Equal(w1[i].Dims, w2[i].Dims);
            Assert.True(w1[i].RawData.Span.SequenceEqual(w2[i].RawData.Span), $"{name}: initializer {i} ('{w1[i].Name}' / '{w2[i].Name}') differs after the round trip");
        }

        var input = rng.Uniform(batch * original.InputShape.ElementCount);
        var expected = Forward(original, input, batch);
        var viaImport = Forward(imported, input, batch);
        TensorAssert.Close(viaImport, expected, Within1e5, what: rng.Label($"{name}: imported vs original"));
        TensorAssert.Equal(Forward(again, input, batch), viaImport, what: rng.Label($"{name}: re-imported vs imported"));
        var (ort1, _) = OnnxRuntimeOracle.Run(first, input, [batch, .. original.InputShape.Dimensions.Select(d => (long)d)]);
        var (ort2, _) = OnnxRuntimeOracle.Run(second, input, [batch, .. original.InputShape.Dimensions.Select(d => (long)d)]);
        TensorAssert.Equal(ort2, ort1, what: $"{name}: ONNX Runtime on the first and second export");
    }
}
