using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Import;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// The importer's translation of the PyTorch fixtures: which layers each file becomes (BatchNorm kept, Pad folded into
/// the convolution, the x.view(n, -1) shape subgraph folded into a Flatten, MatMul + Add into one Dense), and PyTorch's
/// reference outputs reproduced by the translated layers.
/// </summary>
public sealed class OnnxImportTranslationTests : IDisposable
{
    private readonly IBackend _backend = Backend.Cpu();

    public void Dispose() => _backend.Dispose();

    private static ImportedGraph Read(string name, OnnxImportOptions? options = null) =>
        OnnxImporter.Read(OnnxFixtures.Model(name), name + ".onnx", options);

    private static string[] Kinds(ImportedGraph g) =>
        g.Ops.Select(op => op switch { LayerOp l => l.Layer.TypeName, AddOp => "Add", ConcatOp => "Concat", _ => "?" }).ToArray();

    [Fact]
    public void LeNet5BecomesItsLayers()
    {
        var g = Read("lenet5");
        Assert.Equal(17, g.Opset);
        Assert.Equal(Shapes.Image(1, 28, 28), g.Inputs.Single().Sample);
        Assert.Equal(["Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "ReLU", "Dense", "ReLU", "Dense"], Kinds(g));
    }

    [Fact]
    public void ThePreActivationResNetKeepsItsBatchNormsAndSkipConnections()
    {
        var kinds = Kinds(Read("resnet_preact"));
        Assert.Equal(3, kinds.Count(k => k == "BatchNorm2D"));
        Assert.Equal(2, kinds.Count(k => k == "Add"));
        // GlobalAveragePool followed by Flatten is our GlobalAvgPool2D, which already outputs (N, C).
        Assert.Contains("GlobalAvgPool2D", kinds);
        Assert.DoesNotContain("Flatten", kinds);
    }

    [Fact]
    public void TheOpSamplerFoldsPadsShapeSubgraphsAndBiases()
    {
        var g = Read("ops_sampler");
        var layers = g.Ops.OfType<LayerOp>().Select(l => l.Layer).ToList();
        var padded = (Conv2D)layers[0];
        Assert.Equal(Padding2d.Explicit(0, 1, 0, 1), padded.Spec.Padding); // F.pad(x, (0, 1, 0, 1)) folded in
        var avg = layers.OfType<AvgPool2D>().Single();
        Assert.True(avg.Spec.CeilMode);
        Assert.False(avg.Spec.CountIncludePadding);
        Assert.True(layers.OfType<MaxPool2D>().Single().Spec.CeilMode);
        Assert.Single(layers.OfType<Flatten>());                           // Shape, Gather, Unsqueeze, Concat, Reshape
        Assert.True(layers.OfType<Dense>().Single().UseBias);              // MatMul + Add
        Assert.IsType<Softmax>(layers[^1]);
    }

    public static TheoryData<string> ExportCases => new(OnnxTestModels.Layers.Keys.Concat(OnnxTestModels.ReadyMade.Keys));

    // Every layer type and option the exporter writes (the ceil-mode pooling forms included) reads back as layers
    // that compute what the exported model computes.
    [Theory]
    [MemberData(nameof(ExportCases))]
    public void EveryExportedCaseTranslatesBackToTheSameFunction(string name)
    {
        using var model = (OnnxTestModels.Layers.TryGetValue(name, out var f) ? f : OnnxTestModels.ReadyMade[name])(_backend);
        var rng = new TestRng();
        OnnxTestModels.Randomize(model, (ulong)rng.Seed);
        const int batch = 2;
        var input = rng.Uniform(batch * model.InputShape.ElementCount);
        using var x = _backend.Allocate(Shapes.Batch(model.InputShape, batch));
        x.Upload(input);
        var expected = model.Forward(x, training: false).ToArray();

        var g = OnnxImporter.Read(model.ToOnnxBytes(new OnnxExportOptions { BatchSize = batch }), name);
        var output = ImportedGraphRunner.Run(g, _backend, input, batch);
        TensorAssert.Close(output, expected, new Tolerance(1e-5, 1e-5), what: rng.Label($"{name}: imported vs exported model"));
    }

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet_preact")]
    [InlineData("unet_small")]
    [InlineData("ops_sampler")]
    public void TranslatedLayersReproducePyTorchsOutputs(string name)
    {
        var reference = OnnxFixtures.ReferenceOf(name);
        var output = ImportedGraphRunner.Run(Read(name), _backend, reference.Input, reference.Batch);
        TensorAssert.Close(output, reference.Output, new Tolerance(1e-5, 1e-5), what: $"{name}: ours vs PyTorch");
    }
}
