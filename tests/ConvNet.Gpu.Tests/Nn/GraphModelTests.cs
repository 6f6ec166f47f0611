using System.Text.Json.Nodes;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// The functional API's graph rules: checks at construction with errors naming the nodes, deterministic order and
/// naming, a chain built either way being the same model, the summary's connections, and the architecture round trip.
/// </summary>
public sealed class GraphModelTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    private static float[] Random(int count, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void ACallThatDoesNotFitNamesTheLayerAndTheTensor()
    {
        var x = Model.Input((3, 8, 8), "image");
        var a = new Conv2D(4, 3, name: "narrow").Call(x);   // (4, 6, 6)
        var b = new Conv2D(4, 3, padding: 1, name: "wide").Call(x); // (4, 8, 8)
        var e = Assert.Throws<ShapeMismatchException>(() => new Add(name: "join").Call(a, b));
        Assert.Contains("'join'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'narrow'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'wide'", e.Message, StringComparison.Ordinal);
        var c = Assert.Throws<ShapeMismatchException>(() => new Concat(name: "cat").Call(a, b));
        Assert.Contains("'cat'", c.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeMismatchException>(() => new Add().Call(a));
        var dense = new Dense(3, name: "head");
        Assert.Throws<InvalidGeometryException>(() => new Conv2D(2, 9, name: "too_big").Call(x));
        var v = Model.Input(Shapes.Features(5), "v");
        dense.Call(v);
        var shared = Assert.Throws<ShapeMismatchException>(() => dense.Call(Model.Input(Shapes.Features(6), "w")));
        Assert.Contains("Shared layer 'head'", shared.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnusedAndForeignInputsAreRefused()
    {
        var x = Model.Input((1, 4, 4), "x");
        var unused = Model.Input((1, 4, 4), "spare");
        var y = new ReLU().Call(x);
        var e = Assert.Throws<InvalidGraphException>(() => new Model(_b, [x, unused], [y]));
        Assert.Equal(["spare"], e.Nodes);
        var foreign = Model.Input((1, 4, 4), "other");
        var z = new Add(name: "mix").Call(x, foreign);
        var f = Assert.Throws<InvalidGraphException>(() => new Model(_b, x, z));
        Assert.Contains("'other'", f.Message, StringComparison.Ordinal);
        Assert.Contains("'mix'", f.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidGraphException>(() => new Model(_b, y, y));            // an output is not an input
        Assert.Throws<InvalidGraphException>(() => new Model(_b, [x, x], [y]));     // twice the same input
    }

    [Fact]
    public void DuplicateNamesAndReusedLayersAreRefused()
    {
        var x = Model.Input((1, 4, 4), "x");
        var y = new ReLU("act").Call(new Conv2D(2, 1, name: "act").Call(x));
        var e = Assert.Throws<InvalidGraphException>(() => new Model(_b, x, y));
        Assert.Equal(["act"], e.Nodes);
        var conv = new Conv2D(2, 1);
        var x2 = Model.Input((1, 4, 4));
        using var first = new Model(_b, x2, conv.Call(x2));
        var reuse = Assert.Throws<InvalidOperationException>(() => conv.Call(Model.Input((1, 4, 4))));
        Assert.Contains("already built", reuse.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACycleInASavedGraphIsNamed()
    {
        var architecture = new JsonObject
        {
            ["format"] = Model.GraphFormat, ["version"] = 1, ["name"] = "loop", ["seed"] = "1",
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "x", ["shape"] = new JsonArray(4) }),
            ["layers"] = new JsonArray(
                new JsonObject { ["type"] = "Add", ["name"] = "a" },
                new JsonObject { ["type"] = "Add", ["name"] = "b" }),
            ["nodes"] = new JsonArray(
                new JsonObject { ["layer"] = "a", ["inputs"] = new JsonArray("x", "b") },
                new JsonObject { ["layer"] = "b", ["inputs"] = new JsonArray("x", "a") }),
            ["outputs"] = new JsonArray("b"),
        };
        var e = Assert.Throws<InvalidGraphException>(() => Model.FromArchitecture(architecture, _b));
        Assert.Equal(["a", "b"], e.Nodes.Order());
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
        architecture["nodes"]![0]!["inputs"] = new JsonArray("x", "nowhere");
        var missing = Assert.Throws<InvalidGraphException>(() => Model.FromArchitecture(architecture, _b));
        Assert.Contains("'nowhere'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AChainBuiltFunctionallyIsTheSequentialModel()
    {
        using var sequential = new Sequential(_b, (1, 8, 8), seed: 11)
            .Add(new Conv2D(3, 3, padding: 1), new ReLU(), new MaxPool2D(2), new Flatten(), new Dense(4));
        var x = Model.Input((1, 8, 8));
        var h = new Conv2D(3, 3, padding: 1).Call(x);
        h = new ReLU().Call(h);
        h = new MaxPool2D(2).Call(h);
        h = new Flatten().Call(h);
        using var functional = new Model(_b, x, new Dense(4).Call(h), seed: 11);
        Assert.Equal(sequential.NamedParameters.Select(p => p.Key), functional.NamedParameters.Select(p => p.Key));
        Assert.Equal(sequential.Parameters.SelectMany(p => p.Value.ToArray()), functional.Parameters.SelectMany(p => p.Value.ToArray()));

        using var input = _b.Allocate(TensorShape.Nchw(3, 1, 8, 8));
        input.Upload(Random(3 * 64, 1));
        using var g = _b.Allocate(TensorShape.Matrix(3, 4));
        g.Upload(Random(12, 2));
        var ys = sequential.Forward(input, training: true).ToArray();
        sequential.Backward(g);
        var yf = functional.Forward(input, training: true).ToArray();
        functional.Backward(g);
        Assert.Equal(ys, yf);
        Assert.Equal(sequential.Parameters.SelectMany(p => p.Gradient.ToArray()), functional.Parameters.SelectMany(p => p.Gradient.ToArray()));
    }

    [Fact]
    public void TheOrderIsTopologicalAndDeterministic()
    {
        var x = Model.Input((2, 4, 4), "x");
        var left = new Conv2D(2, 1, name: "left").Call(x);
        var right = new Conv2D(2, 1, name: "right").Call(x);
        var joined = new Concat(name: "join").Call(right, left);
        using var model = new Model(_b, x, joined);
        Assert.Equal(["left", "right", "join"], model.Layers.Select(l => l.Name));
        var summary = model.Summary();
        Assert.Equal(["x", "left", "right", "join"], summary.Rows.Select(r => r.Name));
        Assert.Equal(["right", "left"], summary["join"].Inputs);
        string table = summary.ToString();
        Assert.Contains("Connected to", table, StringComparison.Ordinal);
        Assert.Contains("right, left", table, StringComparison.Ordinal);
        Assert.Contains("Outputs: join", table, StringComparison.Ordinal);
        Assert.Equal([4, 4, 4], joined.Shape.Dimensions.ToArray());
    }

    [Fact]
    public void UnnamedLayersAndInputsGetUniqueNames()
    {
        var a = Model.Input(Shapes.Features(3));
        var b = Model.Input(Shapes.Features(3));
        var dense = new Dense(2);
        var y = new Concat().Call(dense.Call(a), dense.Call(b), new Dense(2, name: "dense_1b").Call(a));
        using var model = new Model(_b, [a, b], [y]);
        Assert.Equal(["input_1", "input_2"], model.Inputs.Select(t => t.Name));
        Assert.Equal(["concat_1", "dense_1", "dense_1b"], model.Layers.Select(l => l.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["dense_1", "dense_1#2", "dense_1b"], model.Layers.OfType<Concat>().Single().Calls[0].Inputs.Select(t => t.Name));
        Assert.Equal(2 * 3 + 2 + 2 * 3 + 2, model.TrainableParameterCount);
    }

    [Fact]
    public void MultipleOutputsRunAndTakeOneGradientEach()
    {
        var x = Model.Input(Shapes.Features(4), "x");
        var trunk = new Dense(5, name: "trunk").Call(x);
        var head1 = new Dense(2, name: "head1").Call(trunk);
        var head2 = new Dense(3, name: "head2").Call(trunk);
        using var model = new Model(_b, [x], [head1, head2]);
        Assert.Equal([[2], [3]], model.OutputShapes.Select(s => s.Dimensions.ToArray()));
        var xs = Random(8, 3);
        using var input = _b.Allocate(TensorShape.Matrix(2, 4));
        input.Upload(xs);
        var outputs = model.Forward([input], training: true);
        Assert.Equal(2, outputs.Count);
        Assert.Throws<InvalidOperationException>(() => model.Forward(input, training: true));
        using var g1 = _b.Allocate(TensorShape.Matrix(2, 2));
        using var g2 = _b.Allocate(TensorShape.Matrix(2, 3));
        _b.Fill(g1, 0f);
        var gs = Random(6, 4);
        g2.Upload(gs);
        model.Backward([g1, g2]);
        // With head1's gradient zero the trunk's weight gradient is what head2 alone sends: ((G2 W2)ᵀ x).
        var w2 = model.Layers.OfType<Dense>().Single(d => d.Name == "head2").Weight.Value.ToArray();
        var dTrunk = new double[2 * 5];
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 5; j++)
                for (int o = 0; o < 3; o++) dTrunk[n * 5 + j] += gs[n * 3 + o] * w2[o * 5 + j];
        var expected = new double[5 * 4];
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 4; k++)
                for (int n = 0; n < 2; n++) expected[j * 4 + k] += dTrunk[n * 5 + j] * xs[n * 4 + k];
        var trunkLayer = model.Layers.OfType<Dense>().Single(d => d.Name == "trunk");
        ConvNet.Gpu.Tests.Infrastructure.TensorAssert.Close(trunkLayer.Weight.Gradient, expected,
            ConvNet.Gpu.Tests.Infrastructure.Tolerance.Float32VsFloat64, "trunk dW");
        Assert.All(model.Layers.OfType<Dense>().Single(d => d.Name == "head1").Weight.Gradient.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TheArchitectureRoundTripsAndRebuildsTheSameGraph()
    {
        var image = Model.Input((2, 6, 6), "image");
        var conv = new Conv2D(2, 3, padding: 1, name: "shared_conv");
        var a = conv.Call(image);
        var b = conv.Call(new ReLU("pre").Call(image));
        var y = new Dense(3, name: "fc").Call(new Flatten("flat").Call(new Concat("cat").Call(a, b)));
        using var model = new Model(_b, image, y, seed: 5, name: "round_trip");
        var json = model.ToJson();
        using var rebuilt = Model.FromJson(json, _b);
        Assert.Equal(json, rebuilt.ToJson());
        Assert.Equal(model.NamedParameters.Select(p => p.Key), rebuilt.NamedParameters.Select(p => p.Key));
        Assert.Equal(model.Parameters.SelectMany(p => p.Value.ToArray()), rebuilt.Parameters.SelectMany(p => p.Value.ToArray()));
        Assert.Contains("shared_conv#2", json, StringComparison.Ordinal);
    }
}
