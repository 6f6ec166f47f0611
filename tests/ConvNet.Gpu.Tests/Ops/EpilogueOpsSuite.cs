using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// The fused layer ops (bias and activation around convolution and dense GEMMs): forward y = act(op(x) + b) and the whole
/// layer backward from dL/dy and y, against the float64 references composed by hand (the activation derivative taken at
/// the float64 pre-activation, not from y), plus: fused forward equals the unfused ops bit for bit on the same backend, and
/// the backward rejects an activation whose derivative does not follow from its output.
/// </summary>
public abstract class EpilogueOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>Convolution cases: plain, strided and padded, grouped, depthwise, pointwise (the no-im2col path), dilated.</summary>
    public static TheoryData<string> ConvNames => new("k3_s1_valid", "k3_s2_same", "groups2_pad1", "depthwise_s2_pad1", "k1x1", "k3_dil2_pad2",
        "medium_C16_K33_pad1");

    private static readonly (ActivationKind? Kind, float Alpha)[] Activations =
        [(null, 0f), (ActivationKind.ReLU, 0f), (ActivationKind.LeakyReLU, 0.1f), (ActivationKind.ELU, 0.7f), (ActivationKind.Sigmoid, 0f), (ActivationKind.Tanh, 0f)];

    /// <summary>Every activation (index into the table above; -1-free so theory names stay short).</summary>
    public static TheoryData<int> ActivationIndices => new(Enumerable.Range(0, Activations.Length));

    /// <summary>Conv case x activation, with and without a bias.</summary>
    public static TheoryData<string, int, bool> ConvForwardCases
    {
        get
        {
            var data = new TheoryData<string, int, bool>();
            foreach (var name in new[] { "k3_s2_same", "groups2_pad1", "k1x1" })
                for (int a = 0; a < Activations.Length; a++)
                    data.Add(name, a, a % 2 == 0);
            data.Add("depthwise_s2_pad1", 1, true);
            data.Add("medium_C16_K33_pad1", 1, true);
            return data;
        }
    }

    private static Epilogue EpilogueOf(int index) =>
        Activations[index].Kind is { } kind ? Epilogue.Of(kind, Activations[index].Alpha) : Epilogue.None;

    private static double[] Act(int index, double[] z) =>
        Activations[index].Kind is { } kind ? ActivationReference.ActivationForward(kind, Activations[index].Alpha, z) : z;

    private static double[] Chain(int index, double[] z, double[] dy) =>
        Activations[index].Kind is { } kind ? ActivationReference.ActivationBackward(kind, Activations[index].Alpha, z, dy) : dy;

    /// <summary>
    /// Zeroes dy wherever the float64 pre-activation z lies so close to a kink of the activation (0 for ReLU, LeakyReLU
    /// and ELU with alpha != 1) that the backend's float32 z may fall on the other side: the backend takes the derivative
    /// from its own float32 y, the reference from the float64 z, and at a kink those differ by a whole dy (with dW summing
    /// it into every weight of that output channel). The band is the float32 dot-product bound
    /// |z32 - z| &lt;= gamma_terms * sum|x w| (+|b|), gamma_n = n u / (1 - n u), u = 2^-24, taken twice for the
    /// backend's own summation order; zAbs is that sum of magnitudes per element. Elsewhere dy is left as drawn.
    /// </summary>
    private static void ZeroDyNearKinks(int index, double[] z, double[] zAbs, long terms, float[] dy)
    {
        if (Activations[index].Kind is not { } kind) return;
        bool kinked = kind is ActivationKind.ReLU or ActivationKind.LeakyReLU || (kind is ActivationKind.ELU && Activations[index].Alpha != 1f);
        if (!kinked) return;
        double u = Math.Pow(2, -24), gamma = terms * u / (1 - terms * u);
        for (int i = 0; i < z.Length; i++)
            if (Math.Abs(z[i]) <= 2 * gamma * zAbs[i]) dy[i] = 0f;
    }

    private static double[] Abs(float[] a) => Array.ConvertAll(a, v => Math.Abs((double)v));

    [Theory, MemberData(nameof(ConvForwardCases))]
    public void ConvolutionForwardAppliesBiasThenActivation(string name, int activation, bool withBias)
    {
        var g = ConvCases.Get(name).Geometry;
        var x = Rng.Uniform(g.InputShape.ElementCount);
        var w = Rng.Uniform(g.WeightShape.ElementCount);
        var bias = withBias ? Rng.Uniform(g.K) : null;
        var epilogue = EpilogueOf(activation);
        var expected = Act(activation, ConvReference.Forward(D(x), D(w), bias is null ? null : D(bias), g));
        Verify($"Conv2dForward {g} epilogue {epilogue} bias={withBias}", (b, r) =>
        {
            var y = Out(b, g.OutputShape);
            b.Conv2dForward(In(b, x, g.InputShape), In(b, w, g.WeightShape), bias is null ? null : In(b, bias, g.BiasShape), y, g, epilogue);
            r.Add("y", y, OpKind.Matmul);
        }, Expect(("y", expected)));
    }

    [Theory, MemberData(nameof(ActivationIndices))]
    public void FusedForwardIsTheUnfusedOpsBitForBit(int activation)
    {
        var g = ConvCases.Get("groups2_pad1").Geometry;
        var epilogue = EpilogueOf(activation);
        Tensor x = In(B, Rng.Uniform(g.InputShape.ElementCount), g.InputShape), w = In(B, Rng.Uniform(g.WeightShape.ElementCount), g.WeightShape);
        var bias = In(B, Rng.Uniform(g.K), g.BiasShape);
        var fused = Out(B, g.OutputShape);
        var unfused = Out(B, g.OutputShape);
        B.Conv2dForward(x, w, bias, fused, g, epilogue);
        B.Conv2dForward(x, w, bias, unfused, g);
        if (epilogue.Activation is { } kind) B.ActivationForward(kind, epilogue.Alpha, unfused, unfused);
        TensorAssert.Equal(fused.ToArray(), unfused.ToArray(), g.OutputShape, Rng.Label($"conv {epilogue}: fused vs unfused [{Under.Name}]"));

        const int n = 5, f = 23, u = 9;
        Tensor xd = In(B, Rng.Uniform(n * f), TensorShape.Matrix(n, f)), wd = In(B, Rng.Uniform(u * f), TensorShape.Matrix(u, f));
        var bd = In(B, Rng.Uniform(u), TensorShape.Vector(u));
        var yFused = Out(B, TensorShape.Matrix(n, u));
        var yUnfused = Out(B, TensorShape.Matrix(n, u));
        B.LinearForward(xd, wd, bd, yFused, epilogue);
        B.Gemm(false, true, n, u, f, 1f, xd, wd, 0f, yUnfused);
        B.BiasAdd(yUnfused, bd);
        if (epilogue.Activation is { } k) B.ActivationForward(k, epilogue.Alpha, yUnfused, yUnfused);
        TensorAssert.Equal(yFused.ToArray(), yUnfused.ToArray(), yFused.Shape, Rng.Label($"dense {epilogue}: fused vs unfused [{Under.Name}]"));
    }

    public static TheoryData<int, bool, bool> LinearCases => new()
    {
        { 0, true, false }, { 1, true, true }, { 2, false, false }, { 3, true, true }, { 4, true, false }, { 5, false, true },
    };

    [Theory, MemberData(nameof(LinearCases))]
    public void DenseForwardAndBackwardMatchTheReference(int activation, bool withBias, bool imageInput)
    {
        const int n = 6, u = 11;
        var inputShape = imageInput ? TensorShape.Nchw(n, 3, 4, 5) : TensorShape.Matrix(n, 37);
        int f = (int)(inputShape.ElementCount / n);
        var epilogue = EpilogueOf(activation);
        float[] x = Rng.Uniform(inputShape.ElementCount), w = Rng.Uniform(u * f), dy = Rng.Uniform(n * u), dwPrior = Rng.Uniform(u * f);
        var bias = withBias ? Rng.Uniform(u) : null;
        var dbPrior = Rng.Uniform(u);
        // z = x Wᵀ + b (reference), y = act(z); dz = act'(z) * dy; dW = dzᵀ x; db = sum_n dz; dx = dz W.
        var z = new double[n * u];
        GemmReference.Gemm(false, true, n, u, f, 1, D(x), 0, D(w), 0, 0, z, 0);
        if (bias is not null) z = ConvReference.BiasAdd(z, D(bias), n, u, 1);
        var zAbs = new double[n * u];
        GemmReference.Gemm(false, true, n, u, f, 1, Abs(x), 0, Abs(w), 0, 0, zAbs, 0);
        if (bias is not null) zAbs = ConvReference.BiasAdd(zAbs, Abs(bias), n, u, 1);
        ZeroDyNearKinks(activation, z, zAbs, f + 1, dy);
        var dz = Chain(activation, z, D(dy));
        var dW = new double[u * f];
        GemmReference.Gemm(true, false, u, f, n, 1, dz, 0, D(x), 0, 0, dW, 0);
        var dx = new double[n * f];
        GemmReference.Gemm(false, false, n, f, u, 1, dz, 0, D(w), 0, 0, dx, 0);
        var db = ConvReference.BiasGradient(dz, n, u, 1);
        var yShape = TensorShape.Matrix(n, u);
        Verify($"Linear {epilogue} bias={withBias} input={inputShape}", (b, r) =>
        {
            var xi = In(b, x, inputShape); var wi = In(b, w, TensorShape.Matrix(u, f));
            var bi = bias is null ? null : In(b, bias, TensorShape.Vector(u));
            var y = Out(b, yShape);
            b.LinearForward(xi, wi, bi, y, epilogue);
            var gw = Out(b, wi.Shape); var gx = Out(b, inputShape); var gb = bias is null ? null : Out(b, TensorShape.Vector(u));
            b.LinearBackward(xi, wi, y, In(b, dy, yShape), epilogue, gw, gb, gx, accumulate: false);
            var gwAcc = In(b, dwPrior, wi.Shape); var gbAcc = In(b, dbPrior, TensorShape.Vector(u));
            b.LinearBackward(xi, wi, y, In(b, dy, yShape), epilogue, gwAcc, gbAcc, null, accumulate: true);
            r.Add("y", y, OpKind.Matmul).Add("dW", gw, OpKind.Matmul).Add("dx", gx, OpKind.Matmul).Add("dW accumulated", gwAcc, OpKind.Matmul)
             .Add("db accumulated", gbAcc, OpKind.Pointwise);
            if (gb is not null) r.Add("db", gb, OpKind.Pointwise);
        }, Expect(("y", Act(activation, z)), ("dW", dW), ("dx", dx), ("dW accumulated", dW.Select((v, i) => v + dwPrior[i]).ToArray()),
            ("db accumulated", db.Select((v, i) => v + dbPrior[i]).ToArray()), ("db", db)));
    }

    public static TheoryData<string, int> ConvBackwardCases
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var name in new[] { "k3_s1_valid", "k3_s2_same", "groups2_pad1", "depthwise_s2_pad1", "k1x1", "k3_dil2_pad2", "medium_C16_K33_pad1" })
                data.Add(name, 1);
            for (int a = 0; a < Activations.Length; a++) data.Add("k3_s2_same", a);
            return data;
        }
    }

    [Theory, MemberData(nameof(ConvBackwardCases))]
    public void ConvolutionBackwardGivesEveryGradientOfTheFusedLayer(string name, int activation)
    {
        var g = ConvCases.Get(name).Geometry;
        var epilogue = EpilogueOf(activation);
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount), b0 = Rng.Uniform(g.K);
        float[] dy = Rng.Uniform(g.OutputShape.ElementCount), dwPrior = Rng.Uniform(g.WeightShape.ElementCount), dbPrior = Rng.Uniform(g.K);
        var z = ConvReference.Forward(D(x), D(w), D(b0), g);
        ZeroDyNearKinks(activation, z, ConvReference.Forward(Abs(x), Abs(w), Abs(b0), g), (long)g.C / g.Groups * g.KH * g.KW + 1, dy);
        var dz = Chain(activation, z, D(dy));
        var dW = ConvReference.BackwardWeights(D(x), dz, g);
        var db = ConvReference.BiasGradient(dz, g.N, g.K, g.OutputPlane);
        var dx = ConvReference.BackwardData(dz, D(w), g);
        Verify($"Conv2dBackward {g} epilogue {epilogue}", (b, r) =>
        {
            var xi = In(b, x, g.InputShape); var wi = In(b, w, g.WeightShape); var bi = In(b, b0, g.BiasShape);
            var y = Out(b, g.OutputShape);
            b.Conv2dForward(xi, wi, bi, y, g, epilogue);
            var gw = Out(b, g.WeightShape); var gb = Out(b, g.BiasShape); var gx = Out(b, g.InputShape);
            var dyi = In(b, dy, g.OutputShape);
            b.Conv2dBackward(xi, wi, y, dyi, epilogue, gw, gb, gx, g, accumulate: false);
            var gwAcc = In(b, dwPrior, g.WeightShape); var gbAcc = In(b, dbPrior, g.BiasShape);
            b.Conv2dBackward(xi, wi, y, dyi, epilogue, gwAcc, gbAcc, null, g, accumulate: true);
            var gwOnly = Out(b, g.WeightShape);
            b.Conv2dBackward(xi, wi, y, dyi, epilogue, gwOnly, null, null, g, accumulate: false);
            r.Add("dW", gw, OpKind.Matmul).Add("db", gb, OpKind.Pointwise).Add("dx", gx, OpKind.Matmul)
             .Add("dW accumulated", gwAcc, OpKind.Matmul).Add("db accumulated", gbAcc, OpKind.Pointwise).Add("dW alone", gwOnly, OpKind.Matmul)
             .Add("dy untouched", dyi, OpKind.Exact);
        }, Expect(("dW", dW), ("db", db), ("dx", dx), ("dW accumulated", dW.Select((v, i) => v + dwPrior[i]).ToArray()),
            ("db accumulated", db.Select((v, i) => v + dbPrior[i]).ToArray()), ("dW alone", dW), ("dy untouched", D(dy))));
    }

    [Fact]
    public void BackwardRejectsActivationsWhoseDerivativeDoesNotFollowFromTheOutput()
    {
        var g = ConvCases.Get("k3_s1_valid").Geometry;
        Tensor x = In(B, Rng.Uniform(g.InputShape.ElementCount), g.InputShape), w = In(B, Rng.Uniform(g.WeightShape.ElementCount), g.WeightShape);
        var y = Out(B, g.OutputShape);
        var dy = In(B, Rng.Uniform(g.OutputShape.ElementCount), g.OutputShape);
        var dw = Out(B, g.WeightShape);
        var leaky = Epilogue.Of(ActivationKind.LeakyReLU, -0.5f);
        B.Conv2dForward(x, w, null, y, g, leaky); // the forward itself is fine
        var e = Assert.Throws<ConvNetArgumentException>(() => B.Conv2dBackward(x, w, y, dy, leaky, dw, null, null, g, accumulate: false));
        Assert.Contains("alpha >= 0", e.Message);
        var missing = Assert.Throws<ConvNetArgumentException>(() => B.Conv2dBackward(x, w, null, dy, Epilogue.Of(ActivationKind.ReLU), dw, null, null, g, false));
        Assert.Contains("forward output y is needed", missing.Message);
        Assert.All(dw.ToArray(), v => Assert.True(float.IsNaN(v), "nothing may be written before the checks pass"));
    }

    [Fact]
    public void FusedLayerOpsAreDeterministic()
    {
        var g = ConvCases.Get("medium_C32_K20_s2_groups2").Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount), b0 = Rng.Uniform(g.K), dy = Rng.Uniform(g.OutputShape.ElementCount);
        AssertDeterministic("fused conv layer", (b, r) =>
        {
            var xi = In(b, x, g.InputShape); var wi = In(b, w, g.WeightShape);
            var y = Out(b, g.OutputShape);
            b.Conv2dForward(xi, wi, In(b, b0, g.BiasShape), y, g, Epilogue.Of(ActivationKind.ELU, 1f));
            var gw = Out(b, g.WeightShape); var gb = Out(b, g.BiasShape); var gx = Out(b, g.InputShape);
            b.Conv2dBackward(xi, wi, y, In(b, dy, g.OutputShape), Epilogue.Of(ActivationKind.ELU, 1f), gw, gb, gx, g, accumulate: false);
            r.Add("y", y, OpKind.Matmul).Add("dW", gw, OpKind.Matmul).Add("db", gb, OpKind.Pointwise).Add("dx", gx, OpKind.Matmul);
        });
    }
}
