using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// A two-branch graph model checked against a hand computation, as PyTorch autograd would compute it:
/// <code>
/// x (2,5,5) ─ conv_a 3@3x3 pad 1 ─ tanh ─┐
///           └ conv_b 2@1x1 ───────────────┴ concat c (5,5,5) ─ conv_d 5@3x3 pad 1 ─ add(d, c) ─ global avg ─ dense 3
/// </code>
/// The concatenated tensor c feeds both conv_d and the Add (fan-out, so its gradient is a sum). The float64 reference
/// (direct loops, written out below) is gradient-checked itself with central differences (h = 1e-6); the backend's
/// float32 forward and backward are compared with it, and checked with float32 central differences (Caffe's rule).
/// Objective: L = sum(G ∘ y) with a fixed random G.
/// </summary>
public abstract class GraphGradientSuite : IDisposable
{
    private const int N = 2, C = 2, H = 5, W = 5, Ka = 3, Kb = 2, Kc = Ka + Kb, Out = 3;

    /// <summary>Takes the backend under test (disposed with the suite).</summary>
    protected GraphGradientSuite(IBackend backend) => B = backend;

    /// <summary>The backend under test.</summary>
    protected IBackend B { get; }

    /// <summary>Frees the backend.</summary>
    public void Dispose()
    {
        B.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The reference's parameters, in the model's order (conv_a w, b; conv_b w, b; conv_d w, b; fc w, b).</summary>
    private sealed class Weights
    {
        public double[][] All { get; init; } = [];
        public double[] Wa => All[0]; public double[] Ba => All[1];
        public double[] Wb => All[2]; public double[] Bb => All[3];
        public double[] Wd => All[4]; public double[] Bd => All[5];
        public double[] Wf => All[6]; public double[] Bf => All[7];
    }

    private static readonly int[] Sizes = [Ka * C * 9, Ka, Kb * C, Kb, Kc * Kc * 9, Kc, Out * Kc, Out];
    private static readonly string[] Keys = ["conv_a/weight", "conv_a/bias", "conv_b/weight", "conv_b/bias", "conv_d/weight", "conv_d/bias", "fc/weight", "fc/bias"];

    private static double[] Uniform(int count, ulong seed, double scale = 1)
    {
        var r = new HostRandom(seed);
        return Enumerable.Range(0, count).Select(_ => scale * r.NextUniform(-1f, 1f)).ToArray();
    }

    private static Weights RandomWeights() => new() { All = Sizes.Select((s, i) => Uniform(s, 100 + (ulong)i, 0.5)).ToArray() };

    private static Conv2dGeometry Geometry(int channels, int outChannels, int kernel, int pad) =>
        Conv2dSpec.Square(kernel, 1, pad).Resolve(TensorShape.Nchw(N, channels, H, W), outChannels);

    private Model Build()
    {
        var x = Model.Input((C, H, W), "x");
        var a = new Tanh("tanh_a").Call(new Conv2D(Ka, 3, padding: 1, name: "conv_a").Call(x));
        var b = new Conv2D(Kb, 1, name: "conv_b").Call(x);
        var c = new Concat("concat").Call(a, b);
        var d = new Conv2D(Kc, 3, padding: 1, name: "conv_d").Call(c);
        var e = new Add("add").Call(d, c);
        var y = new Dense(Out, name: "fc").Call(new GlobalAvgPool2D("gap").Call(e));
        return new Model(B, x, y, seed: 7, name: "two_branch");
    }

    private static void Load(Model model, Weights w)
    {
        var named = model.NamedParameters;
        Assert.Equal(Keys, named.Select(p => p.Key[(p.Key.IndexOf(':', StringComparison.Ordinal) + 1)..]));
        for (int i = 0; i < named.Count; i++) named[i].Parameter.Value.Upload(w.All[i].Select(v => (float)v).ToArray());
    }

    // ---- The float64 hand computation ----

    private sealed record Pass(double[] A, double[] Cat, double[] E, double[] F, double[] Y);

    private static Pass ReferenceForward(double[] x, Weights w)
    {
        var za = ConvReference.Forward(x, w.Wa, w.Ba, Geometry(C, Ka, 3, 1));
        var a = za.Select(Math.Tanh).ToArray();
        var b = ConvReference.Forward(x, w.Wb, w.Bb, Geometry(C, Kb, 1, 0));
        var cat = new double[N * Kc * H * W];
        int plane = H * W;
        for (int n = 0; n < N; n++)
        {
            Array.Copy(a, n * Ka * plane, cat, n * Kc * plane, Ka * plane);
            Array.Copy(b, n * Kb * plane, cat, (n * Kc + Ka) * plane, Kb * plane);
        }
        var d = ConvReference.Forward(cat, w.Wd, w.Bd, Geometry(Kc, Kc, 3, 1));
        var e = d.Zip(cat, (p, q) => p + q).ToArray();
        var f = new double[N * Kc];
        for (int i = 0; i < f.Length; i++) f[i] = e.Skip(i * plane).Take(plane).Sum() / plane;
        var y = new double[N * Out];
        for (int n = 0; n < N; n++)
            for (int o = 0; o < Out; o++)
            {
                double s = w.Bf[o];
                for (int k = 0; k < Kc; k++) s += f[n * Kc + k] * w.Wf[o * Kc + k];
                y[n * Out + o] = s;
            }
        return new Pass(a, cat, e, f, y);
    }

    // dL/dparameters for L = sum(G ∘ y), by the chain rule written out layer by layer.
    private static double[][] ReferenceBackward(double[] x, Weights w, double[] g)
    {
        var p = ReferenceForward(x, w);
        int plane = H * W;
        var dWf = new double[Out * Kc];
        var dBf = new double[Out];
        var df = new double[N * Kc];
        for (int n = 0; n < N; n++)
            for (int o = 0; o < Out; o++)
            {
                dBf[o] += g[n * Out + o];
                for (int k = 0; k < Kc; k++)
                {
                    dWf[o * Kc + k] += g[n * Out + o] * p.F[n * Kc + k];
                    df[n * Kc + k] += g[n * Out + o] * w.Wf[o * Kc + k];
                }
            }
        var de = new double[N * Kc * plane];
        for (int i = 0; i < de.Length; i++) de[i] = df[i / plane] / plane;
        var gd = Geometry(Kc, Kc, 3, 1);
        var dWd = ConvReference.BackwardWeights(p.Cat, de, gd);
        var dBd = ConvReference.BiasGradient(de, N, Kc, plane);
        var dCat = ConvReference.BackwardData(de, w.Wd, gd).Zip(de, (u, v) => u + v).ToArray(); // conv_d path + the Add's skip
        var da = new double[N * Ka * plane];
        var db = new double[N * Kb * plane];
        for (int n = 0; n < N; n++)
        {
            Array.Copy(dCat, n * Kc * plane, da, n * Ka * plane, Ka * plane);
            Array.Copy(dCat, (n * Kc + Ka) * plane, db, n * Kb * plane, Kb * plane);
        }
        var gb = Geometry(C, Kb, 1, 0);
        var dWb = ConvReference.BackwardWeights(x, db, gb);
        var dBb = ConvReference.BiasGradient(db, N, Kb, plane);
        var dza = da.Zip(p.A, (u, a) => u * (1 - a * a)).ToArray();
        var ga = Geometry(C, Ka, 3, 1);
        var dWa = ConvReference.BackwardWeights(x, dza, ga);
        var dBa = ConvReference.BiasGradient(dza, N, Ka, plane);
        return [dWa, dBa, dWb, dBb, dWd, dBd, dWf, dBf];
    }

    [Fact]
    public void TheHandComputationPassesAFloat64GradientCheck()
    {
        var x = Uniform(N * C * H * W, 1);
        var w = RandomWeights();
        var g = Uniform(N * Out, 2);
        var analytic = ReferenceBackward(x, w, g);
        for (int p = 0; p < w.All.Length; p++)
        {
            var values = w.All[p];
            GradientCheck.Float64($"reference d/d{Keys[p]}", values, v =>
            {
                var saved = w.All[p];
                w.All[p] = v;
                var y = ReferenceForward(x, w).Y;
                w.All[p] = saved;
                return y;
            }, analytic[p], g);
        }
    }

    [Fact]
    public void ForwardAndBackwardMatchTheHandComputation()
    {
        var x = Uniform(N * C * H * W, 1);
        var w = RandomWeights();
        var g = Uniform(N * Out, 2);
        using var model = Build();
        Load(model, w);
        using var input = B.Allocate(TensorShape.Nchw(N, C, H, W));
        input.Upload(x.Select(v => (float)v).ToArray());
        var y = model.Forward(input, training: true);
        TensorAssert.Close(y, ReferenceForward(x, w).Y, Tolerance.Float32VsFloat64, $"output [{B.Name}]");
        using var gT = B.Allocate(y.Shape);
        gT.Upload(g.Select(v => (float)v).ToArray());
        model.Backward(gT);
        var expected = ReferenceBackward(x, w, g);
        var named = model.NamedParameters;
        for (int p = 0; p < named.Count; p++)
            TensorAssert.Close(named[p].Parameter.Gradient, expected[p], Tolerance.Float32VsFloat64, $"d/d{Keys[p]} [{B.Name}]");
    }

    [Fact]
    public void BackwardPassesAFloat32GradientCheck()
    {
        var x = Uniform(N * C * H * W, 3);
        var g = Uniform(N * Out, 4);
        using var model = Build();
        Load(model, RandomWeights());
        using var input = B.Allocate(TensorShape.Nchw(N, C, H, W));
        input.Upload(x.Select(v => (float)v).ToArray());
        using var gT = B.Allocate(TensorShape.Matrix(N, Out));
        gT.Upload(g.Select(v => (float)v).ToArray());
        model.Forward(input, training: true);
        model.Backward(gT);
        foreach (var (key, parameter) in model.NamedParameters)
        {
            var values = parameter.Value.ToArray();
            GradientCheck.Float32($"d/d{key} [{B.Name}]", values, v =>
            {
                parameter.Value.Upload(v);
                var y = model.Forward(input, training: true).ToArray();
                return y;
            }, parameter.Gradient.ToArray(), g, GradientCheck.Settings.ConvDense);
            parameter.Value.Upload(values);
        }
    }

    [Fact]
    public void ASharedLayerGetsTheSumOfItsCallsGradients()
    {
        // y = fc(x1) + fc(x2) = W(x1 + x2) + 2b: dW = Gᵀx1 + Gᵀx2 and db = 2 * sum over the batch of G, by hand.
        var x1 = Model.Input(Shapes.Features(4), "x1");
        var x2 = Model.Input(Shapes.Features(4), "x2");
        var fc = new Dense(3, name: "fc");
        var y = new Add("sum").Call(fc.Call(x1), fc.Call(x2));
        using var model = new Model(B, [x1, x2], [y], seed: 3);
        Assert.Single(model.Layers, l => l is Dense);
        Assert.Equal(15, model.TrainableParameterCount);
        var a = Uniform(2 * 4, 5);
        var b = Uniform(2 * 4, 6);
        var g = Uniform(2 * 3, 7);
        var w = fc.Weight.Value.ToArray();
        var bias = fc.Bias!.Value.ToArray();
        using var ta = B.Allocate(TensorShape.Matrix(2, 4));
        using var tb = B.Allocate(TensorShape.Matrix(2, 4));
        using var tg = B.Allocate(TensorShape.Matrix(2, 3));
        ta.Upload(a.Select(v => (float)v).ToArray());
        tb.Upload(b.Select(v => (float)v).ToArray());
        tg.Upload(g.Select(v => (float)v).ToArray());
        var output = model.Forward([ta, tb], training: true)[0];
        var expectedY = new double[6];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 3; o++)
            {
                expectedY[n * 3 + o] = 2.0 * bias[o]; // each call adds the bias
                for (int k = 0; k < 4; k++) expectedY[n * 3 + o] += (a[n * 4 + k] + b[n * 4 + k]) * w[o * 4 + k];
            }
        TensorAssert.Close(output, expectedY, Tolerance.Float32VsFloat64, "y");
        model.Backward([tg]);
        var dW = new double[12];
        var dB = new double[3];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 3; o++)
            {
                dB[o] += 2 * g[n * 3 + o];
                for (int k = 0; k < 4; k++) dW[o * 4 + k] += g[n * 3 + o] * (a[n * 4 + k] + b[n * 4 + k]);
            }
        TensorAssert.Close(fc.Weight.Gradient, dW, Tolerance.Float32VsFloat64, "shared dW");
        TensorAssert.Close(fc.Bias!.Gradient, dB, Tolerance.Float32VsFloat64, "shared db");
    }
}

/// <summary>The graph checks on the CPU backend.</summary>
public sealed class GraphGradients_Cpu() : GraphGradientSuite(Backend.Cpu(2));
