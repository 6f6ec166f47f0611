using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Import;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// The importer's translation of the PyTorch fixtures: which layers each file becomes (BatchNorm kept, Pad folded into
/// the convolution, the x.view(n, -1) shape subgraph folded into a Flatten, MatMul + Add into one Dense). That the
/// result computes what PyTorch computes is OnnxModelTests' job.
/// </summary>
public sealed class OnnxImportTranslationTests
{
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
}
