using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Protos;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// Graph models through ONNX: two inputs and two outputs, a layer called twice (one initializer for its weights), a
/// three-way Add (ONNX Sum), a three-way Concat, and an output that is also an input. ONNX Runtime's outputs are within
/// 1e-5 of ours, and export -> import -> export keeps the weights (the shared ones shared), and the predictions.
/// </summary>
public sealed class OnnxGraphExportTests : IDisposable
{
    private const int Batch = 3;
    private static readonly Tolerance Within1e5 = new(1e-5, 1e-5);
    private readonly IBackend _backend = Backend.Cpu();

    public void Dispose() => _backend.Dispose();

    // left, right: (3, 6, 6). shared = Conv2D(4, 3x3) called on both; sum = shared(left) + shared(right) + 1x1 conv(left);
    // cat = [shared(left), sum, relu(shared(right))] (12 channels); outputs: Dense(5) of cat, and sum.
    private Model TwoInTwoOut()
    {
        var left = Model.Input((3, 6, 6), "left");
        var right = Model.Input((3, 6, 6), "right");
        var shared = new Conv2D(4, kernelSize: 3, padding: 1, name: "shared");
        var l = shared.Call(left);
        var r = shared.Call(right);
        var sum = new Add("sum3").Call(l, r, new Conv2D(4, kernelSize: 1, name: "pointwise").Call(left));
        var cat = new Concat("cat3").Call(l, sum, new ReLU("relu").Call(r));
        var head = new Dense(5, name: "head").Call(cat);
        var model = new Model(_backend, [left, right], [head, sum], seed: 11, name: "two_in_two_out");
        OnnxTestModels.Randomize(model, 5);
        return model;
    }

    private float[][] Ours(Model model, float[][] inputs)
    {
        var tensors = inputs.Select((v, i) =>
        {
            var t = _backend.Allocate(Shapes.Batch(model.InputShapes[i], Batch));
            t.Upload(v);
            return t;
        }).ToArray();
        try
        {
            return model.Forward(tensors, training: false).Select(t => t.ToArray()).ToArray();
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }

    private static (float[], long[])[] Feeds(Model model, float[][] inputs) =>
        inputs.Select((v, i) => (v, new long[] { Batch }.Concat(model.InputShapes[i].Dimensions.Select(d => (long)d)).ToArray())).ToArray();

    [Fact]
    public void TwoInputsTwoOutputsASharedLayerSumAndConcatMatchOnnxRuntime()
    {
        using var model = TwoInTwoOut();
        var rng = new TestRng();
        float[][] inputs = [rng.Uniform(Batch * 108), rng.Uniform(Batch * 108)];
        var bytes = model.ToOnnxBytes(new OnnxExportOptions { BatchSize = Batch });

        var graph = ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Equal(["left", "right"], graph.Input.Select(i => i.Name));
        Assert.Equal(["output_1", "output_2"], graph.Output.Select(o => o.Name));
        Assert.Single(graph.Node, n => n.OpType == "Sum");
        Assert.Equal(3, graph.Node.Single(n => n.OpType == "Concat").Input.Count);
        // The shared convolution is called twice but its weight (4, 3, 3, 3) and bias (4) are written once.
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "Conv" && n.Input[1] == graph.Node.First(c => c.OpType == "Conv").Input[1]));
        Assert.Single(graph.Initializer, t => t.Dims.SequenceEqual([4L, 3, 3, 3]));

        var ours = Ours(model, inputs);
        var theirs = OnnxRuntimeOracle.RunAll(bytes, Feeds(model, inputs));
        Assert.Equal(2, theirs.Count);
        for (int k = 0; k < 2; k++)
        {
            var shape = Shapes.Batch(model.OutputShapes[k], Batch);
            Assert.Equal(shape.Dimensions.Select(d => (long)d), theirs[k].Dims);
            TensorAssert.Close(theirs[k].Values, ours[k], Within1e5, shape, rng.Label($"output {k + 1}: ONNX Runtime vs ours"));
        }
    }

    [Fact]
    public void TwoInputsTwoOutputsRoundTripKeepsWeightsAndPredictions()
    {
        using var model = TwoInTwoOut();
        var rng = new TestRng();
        float[][] inputs = [rng.Uniform(Batch * 108), rng.Uniform(Batch * 108)];
        var first = model.ToOnnxBytes(new OnnxExportOptions { BatchSize = Batch });
        using var imported = OnnxModel.Load(first, _backend);
        Assert.Equal(2, imported.Inputs.Count);
        Assert.Equal(2, imported.Outputs.Count);
        // The two Conv nodes reading the shared weights import as two calls of one layer: fine-tuning keeps them shared.
        Assert.Equal(2, imported.Layers.OfType<Conv2D>().Count());
        var second = imported.ToOnnxBytes(new OnnxExportOptions { BatchSize = Batch });

        var w1 = ModelProto.Parser.ParseFrom(first).Graph.Initializer;
        var w2 = ModelProto.Parser.ParseFrom(second).Graph.Initializer;
        Assert.Equal(w1.Select(w => w.RawData), w2.Select(w => w.RawData));

        var expected = Ours(model, inputs);
        var actual = Ours(imported, inputs);
        for (int k = 0; k < 2; k++)
            TensorAssert.Close(actual[k], expected[k], Within1e5, Shapes.Batch(model.OutputShapes[k], Batch), rng.Label($"output {k + 1}: imported vs original"));
    }

    [Fact]
    public void AnOutputThatIsAlsoAnInputGoesThroughAnIdentity()
    {
        var x = Model.Input((2, 4, 4), "x");
        using var model = new Model(_backend, [x], [new Conv2D(3, kernelSize: 3, padding: 1, name: "conv").Call(x), x], name: "passthrough");
        OnnxTestModels.Randomize(model, 9);
        var rng = new TestRng();
        float[][] inputs = [rng.Uniform(Batch * 32)];
        var bytes = model.ToOnnxBytes(new OnnxExportOptions { BatchSize = Batch });
        Assert.Single(ModelProto.Parser.ParseFrom(bytes).Graph.Node, n => n.OpType == "Identity");

        var ours = Ours(model, inputs);
        var theirs = OnnxRuntimeOracle.RunAll(bytes, Feeds(model, inputs));
        TensorAssert.Close(theirs[0].Values, ours[0], Within1e5, what: rng.Label("conv output"));
        TensorAssert.Equal(theirs[1].Values, inputs[0], what: "the input passed through");
    }
}
