using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// A custom layer written, as a user would, with the public API only: a subclass of <see cref="Layer"/> on
/// <see cref="IBackend"/> ops with a parameter from <c>ParameterFactory.Create</c>, workspace buffers from
/// <c>Layer.Buffer</c>, registered with <see cref="LayerRegistry.Register{T}"/>. y[n, c, ...] = gain[c] · tanh(x[n, c, ...]).
/// </summary>
public sealed class TanhGain : Layer, IRestorableLayer<TanhGain>
{
    private Tensor? _tanh;

    /// <summary>Creates the layer; every gain starts at <paramref name="initialGain"/>.</summary>
    public TanhGain(float initialGain = 1f, string? name = null) : base(name) => InitialGain = initialGain;

    /// <summary>The gains' initial value (a hyper-parameter, saved in the architecture).</summary>
    public float InitialGain { get; }

    /// <summary>The per-channel gains (C).</summary>
    public Parameter Gain { get; private set; } = null!;

    /// <inheritdoc/>
    public static string LayerType => "TestTanhGain";

    /// <inheritdoc/>
    public override string TypeName => LayerType;

    /// <inheritdoc/>
    public static TanhGain FromConfig(JsonObject config) => new(config.GetFloat("initial_gain"), config.GetOptionalString("name"));

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config) => config["initial_gain"] = InitialGain;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory) =>
        Gain = factory.Create("gain", TensorShape.Vector(InputShape[0]), Initializer.Constant(InitialGain), fanIn: 1, fanOut: 1);

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        _tanh = Buffer("tanh", n);
        Backend.ActivationForward(ActivationKind.Tanh, 0f, input, _tanh);
        var y = Buffer("y", n);
        Backend.ChannelAffine(_tanh, Gain.Value, null, y);
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var t = _tanh ?? throw new InvalidOperationException("Backward before Forward.");
        int n = gradOutput.Shape[0], c = InputShape[0], inner = (int)(InputShape.ElementCount / c);
        // dgain[c] = Σ over n and the rest of dy · tanh(x): per (n, c) first, then over n.
        var product = Buffer("product", n);
        Backend.Mul(gradOutput, t, product);
        var perSample = Buffer("per_sample", TensorShape.Vector(n * c));
        Backend.ReduceSum(product, perSample, n * c, inner, 1, accumulate: false);
        Backend.ReduceSum(perSample, Gain.Gradient, 1, n, c, accumulate: false);
        if (!RequiresInputGradient) return null;
        // dx = dy · gain[c] · (1 − tanh²).
        var scaled = Buffer("scaled", n);
        Backend.ChannelAffine(gradOutput, Gain.Value, null, scaled);
        var dx = InputGradientBuffer(n);
        Backend.ActivationBackward(ActivationKind.Tanh, 0f, t, t, scaled, dx);
        return dx;
    }
}

/// <summary>The custom layer's gradient check (float64 central differences, random upstream gradient) and checkpoint round trip.</summary>
public sealed class CustomLayerTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    private static float[] Random(int n, ulong seed, float scale = 1f)
    {
        var r = new HostRandom(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextUniform(-scale, scale)).ToArray();
    }

    [Fact]
    public void Its_gradients_match_central_differences()
    {
        var layer = new TanhGain(0.7f);
        var shape = new TensorShape([3, 2, 2], ["C", "H", "W"]);
        layer.Build(_b, shape, 11);
        try
        {
            _b.Fill(layer.Gain.Value, 0f);
            layer.Gain.Value.Upload([0.5f, -1.2f, 2f]);
            var x = Random(2 * 12, 1);
            var g = Random(2 * 12, 2); // random upstream gradient G, not all ones
            using var input = _b.Allocate(TensorShape.Nchw(2, 3, 2, 2));

            // L = Σ G ⊙ y, evaluated in float64 from the float32 forward pass.
            double Loss(float[] xs, float[] gains)
            {
                input.Upload(xs);
                layer.Gain.Value.Upload(gains);
                var y = layer.Forward(input, training: true).ToArray();
                return y.Select((v, i) => (double)v * g[i]).Sum();
            }

            float[] gain = [0.5f, -1.2f, 2f];
            input.Upload(x);
            layer.Forward(input, training: true);
            using var upstream = _b.Allocate(TensorShape.Nchw(2, 3, 2, 2));
            upstream.Upload(g);
            var dx = layer.Backward(upstream)!.ToArray();
            var dGain = layer.Gain.Gradient.ToArray();

            const float h = 1e-2f;
            for (int i = 0; i < x.Length; i++)
            {
                var plus = (float[])x.Clone();
                var minus = (float[])x.Clone();
                plus[i] += h;
                minus[i] -= h;
                double numeric = (Loss(plus, gain) - Loss(minus, gain)) / (2 * h);
                Assert.True(Math.Abs(numeric - dx[i]) <= 1e-3 + 1e-2 * Math.Abs(numeric), $"dx[{i}]: numeric {numeric}, analytic {dx[i]}");
            }
            for (int c = 0; c < 3; c++)
            {
                var plus = (float[])gain.Clone();
                var minus = (float[])gain.Clone();
                plus[c] += h;
                minus[c] -= h;
                double numeric = (Loss(x, plus) - Loss(x, minus)) / (2 * h);
                Assert.True(Math.Abs(numeric - dGain[c]) <= 1e-3 + 1e-2 * Math.Abs(numeric), $"dgain[{c}]: numeric {numeric}, analytic {dGain[c]}");
            }
        }
        finally
        {
            layer.Dispose();
        }
    }

    [Fact]
    public void A_registered_custom_layer_saves_and_loads_with_its_weights()
    {
        LayerRegistry.Register<TanhGain>();
        LayerRegistry.Register<TanhGain>(); // the same class again: a no-op
        Assert.Contains("TestTanhGain", LayerRegistry.KnownTypes);
        string path = Path.Combine(Path.GetTempPath(), $"custom-layer-{Guid.NewGuid():N}.ckpt");
        try
        {
            using var model = new Sequential(_b, (2, 3, 3), seed: 4).Add(new Conv2D(3, 3, padding: 1), new TanhGain(0.5f, "gain"), new Flatten(), new Dense(2));
            model.Layers[1].Parameters[0].Value.Upload([0.25f, -2f, 1.5f]);
            ModelCheckpoint.Save(path, model);
            using var loaded = ModelCheckpoint.LoadModel(path, _b);
            var gain = Assert.IsType<TanhGain>(loaded.Layers.Single(l => l is TanhGain));
            Assert.Equal(0.5f, gain.InitialGain);
            Assert.Equal([0.25f, -2f, 1.5f], gain.Gain.Value.ToArray());

            var x = Random(4 * 18, 5);
            using var input = _b.Allocate(TensorShape.Nchw(4, 2, 3, 3));
            input.Upload(x);
            var expected = model.Forward(input, training: false).ToArray();
            Assert.Equal(expected, loaded.Forward(input, training: false).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Registration_refuses_built_in_and_taken_names()
    {
        var builtIn = Assert.Throws<ConvNetArgumentException>(() => LayerRegistry.Register("Dense", c => new TanhGain()));
        Assert.Contains("built-in", builtIn.Message, StringComparison.Ordinal);
        LayerRegistry.Register<TanhGain>();
        var taken = Assert.Throws<ConvNetArgumentException>(() => LayerRegistry.Register("TestTanhGain", c => new TanhGain()));
        Assert.Contains("already registered", taken.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<ConvNetArgumentException>(() => LayerRegistry.Create(new JsonObject { ["type"] = "NoSuchLayer" }));
        Assert.Contains("LayerRegistry.Register<T>()", unknown.Message, StringComparison.Ordinal);
    }
}
