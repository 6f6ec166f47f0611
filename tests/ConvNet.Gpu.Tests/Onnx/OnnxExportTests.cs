using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// Export checked by ONNX Runtime: every layer type and option, and every ready-made model, on random inputs and
/// randomized parameters, gives ORT's output within 1e-5 (absolute and relative) of our evaluation-mode forward pass.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private static readonly Tolerance Within1e5 = new(1e-5, 1e-5);
    private readonly IBackend _backend = Backend.Cpu();

    public void Dispose() => _backend.Dispose();

    public static TheoryData<string> LayerCases => new(OnnxTestModels.Layers.Keys);

    public static TheoryData<string> ReadyMadeModels => new(OnnxTestModels.ReadyMade.Keys);

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void EveryLayerMatchesOnnxRuntime(string name)
    {
        using var model = OnnxTestModels.Layers[name](_backend);
        AssertMatchesOnnxRuntime(model, name, batch: 3, OnnxOpsets.Default);
    }

    [Theory]
    [MemberData(nameof(ReadyMadeModels))]
    public void EveryReadyMadeModelMatchesOnnxRuntime(string name)
    {
        using var model = OnnxTestModels.ReadyMade[name](_backend);
        AssertMatchesOnnxRuntime(model, name, batch: 4, OnnxOpsets.Default, ofOutputScale: DeepGraphModels.Contains(name));
    }

    // ResNet-18 and the U-Net are held to 1e-5 of their output's scale rather than of each element: their chains of
    // convolutions (reductions of up to 4,608 terms) and batch norms with the randomized statistics, summed in
    // different orders by our CPU algorithms and ORT's, differ by up to ~5e-5 on ResNet-18's logits (which reach ~100)
    // and ~2.6e-5 on the U-Net's (~10), whichever of our algorithms runs (im2col GEMM alone gives the same), measured
    // over seeds. Each op alone is held to 1e-5 per element (EveryLayerMatchesOnnxRuntime).
    private static readonly HashSet<string> DeepGraphModels = ["resnet18", "unet-small"];

    // The ops whose inputs or attributes changed between opsets (Softmax, Dropout, Resize, Pad, BatchNormalization)
    // and everything else once more, at the lowest and highest supported opsets.
    [Theory]
    [InlineData(OnnxOpsets.Minimum)]
    [InlineData(OnnxOpsets.Maximum)]
    public void EverySupportedOpsetMatchesOnnxRuntime(int opset)
    {
        using var model = new Sequential(_backend, (2, 6, 5), seed: 3, name: "opsets")
            .Add(new Conv2D(4, kernelSize: 3, padding: 1), new BatchNorm2D(), new ELU(0.5f))
            .Add(new AvgPool2D(new Pool2dSpec(3, 3, 2, 2, 1, 1, ceilMode: true, countIncludePadding: true)))
            .Add(new Upsample2D(2), new ConvTranspose2D(3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), new LeakyReLU(0.1f))
            .Add(new Residual([new Conv2D(3, kernelSize: 3, padding: 1), new Sigmoid()]), new MaxPool2D(2))
            .Add(new Subsampling2D(2), new Tanh(), new Flatten(), new Dropout(0.2f), new Dense(5), new Softmax());
        AssertMatchesOnnxRuntime(model, "opsets", batch: 2, opset);
    }

    [Fact]
    public void DynamicBatchAcceptsAnyBatchSize()
    {
        using var model = ConvNet.Gpu.Models.LeNet5(_backend);
        var bytes = model.ToOnnxBytes(new OnnxExportOptions { DynamicBatch = true });
        foreach (int batch in new[] { 1, 5 })
        {
            var rng = new TestRng();
            var input = rng.Uniform(batch * model.InputShape.ElementCount);
            using var x = _backend.Allocate(Shapes.Batch(model.InputShape, batch));
            x.Upload(input);
            var ours = model.Forward(x, training: false).ToArray();
            var (theirs, dims) = OnnxRuntimeOracle.Run(bytes, input, batch, 1, 28, 28);
            Assert.Equal([batch, 10L], dims);
            TensorAssert.Close(theirs, ours, Within1e5, Shapes.Batch(model.OutputShape, batch), rng.Label($"dynamic batch {batch}"));
        }
    }

    [Fact]
    public void ExportOnnxWritesAFileOnnxRuntimeLoads()
    {
        using var model = ConvNet.Gpu.Models.LeNet5(_backend);
        string dir = Directory.CreateTempSubdirectory("convnet-onnx-").FullName;
        try
        {
            string path = Path.Combine(dir, "lenet5.onnx");
            model.ExportOnnx(path);
            Assert.Equal(model.ToOnnxBytes(), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir)); // no temporary file left behind
            var (_, dims) = OnnxRuntimeOracle.Run(File.ReadAllBytes(path), new TestRng().Uniform(28 * 28), 1, 1, 28, 28);
            Assert.Equal([1L, 10], dims);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AnUnsupportedLayerFailsWithItsNameAndType()
    {
        using var model = new Sequential(_backend, Shapes.Features(4)).Add(new Dense(3, name: "fc")).Add(new Doubling("twice"));
        var e = Assert.Throws<OnnxExportException>(() => model.ToOnnxBytes());
        Assert.Equal("twice", e.LayerName);
        Assert.Equal("Doubling", e.LayerType);
        Assert.Contains("layer 'twice' (Doubling)", e.Message);
    }

    [Theory]
    [InlineData(12, 1)]
    [InlineData(22, 1)]
    [InlineData(17, 0)]
    public void OutOfRangeOptionsFailBeforeAnythingIsWritten(int opset, int batch)
    {
        using var model = ConvNet.Gpu.Models.LeNet5(_backend);
        string path = Path.Combine(Path.GetTempPath(), $"convnet-onnx-{Guid.NewGuid():N}.onnx");
        var e = Assert.Throws<OnnxExportException>(() => model.ExportOnnx(path, new OnnxExportOptions { Opset = opset, BatchSize = batch }));
        Assert.Contains(opset is < 13 or > 21 ? $"opset {opset}" : $"got {batch}", e.Message);
        Assert.False(File.Exists(path));
    }

    /// <summary>A layer type the exporter does not know: y = 2x.</summary>
    private sealed class Doubling(string name) : Layer(name)
    {
        public override string TypeName => "Doubling";

        protected override TensorShape InferOutputShape(TensorShape inputShape) => inputShape;

        protected override Tensor ForwardCore(Tensor input, bool training)
        {
            var y = Buffer("y", input.Shape[0]);
            Backend.Scale(input, 2f, y);
            return y;
        }

        protected override Tensor? BackwardCore(Tensor gradOutput) => throw new NotSupportedException();
    }

    // Within 1e-5 per element, or (ofOutputScale) 1e-5 of the output's scale: |theirs - ours| <= 1e-5 * max(1, max |ours|) + 1e-5 * |ours|.
    private void AssertMatchesOnnxRuntime(Model model, string name, int batch, int opset, bool ofOutputScale = false)
    {
        var rng = new TestRng();
        OnnxTestModels.Randomize(model, (ulong)rng.Seed);
        var input = rng.Uniform(batch * model.InputShape.ElementCount);
        using var x = _backend.Allocate(Shapes.Batch(model.InputShape, batch));
        x.Upload(input);
        var ours = model.Forward(x, training: false).ToArray();

        var bytes = model.ToOnnxBytes(new OnnxExportOptions { Opset = opset, BatchSize = batch });
        var (theirs, dims) = OnnxRuntimeOracle.Run(bytes, input, [batch, .. model.InputShape.Dimensions.Select(d => (long)d)]);

        Assert.Equal([batch, .. model.OutputShape.Dimensions.Select(d => (long)d)], dims);
        var tolerance = ofOutputScale ? new Tolerance(1e-5 * Math.Max(1, ours.Max(MathF.Abs)), 1e-5) : Within1e5;
        TensorAssert.Close(theirs, ours, tolerance, Shapes.Batch(model.OutputShape, batch), rng.Label($"{name} opset {opset}: ONNX Runtime vs ours"));
    }
}
