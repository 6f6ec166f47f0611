using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Gradients;

/// <summary>
/// Float64 central-difference checks of every backward in the reference against its own forward (h = 1e-6,
/// |a - n| &lt;= 1e-5 + 1e-3|n|), with L = sum(G ∘ y) for a random G. This validates the oracle the backends are compared with;
/// in particular the backward-data written as a rotated-filter full convolution against the direct forward loop.
/// </summary>
public sealed class ReferenceGradientTests
{
    private readonly TestRng _rng = new();

    private double[] R(long n, double lo = -1, double hi = 1) => Array.ConvertAll(_rng.Uniform(n, (float)lo, (float)hi), v => (double)v);

    [Theory, MemberData(nameof(ConvCases.SmallNames), MemberType = typeof(ConvCases))]
    public void ConvBackwardDataWeightsAndBias(string name)
    {
        var g = ConvCases.Get(name).Geometry;
        double[] x = R(g.InputShape.ElementCount), w = R(g.WeightShape.ElementCount), b = R(g.K), G = R(g.OutputShape.ElementCount);
        string what = _rng.Label($"float64 conv {g}");
        GradientCheck.Float64(what + " dX", x, xi => ConvReference.Forward(xi, w, b, g), ConvReference.BackwardData(G, w, g), G, g.InputShape);
        GradientCheck.Float64(what + " dW", w, wi => ConvReference.Forward(x, wi, b, g), ConvReference.BackwardWeights(x, G, g), G, g.WeightShape);
        GradientCheck.Float64(what + " db", b, bi => ConvReference.Forward(x, w, bi, g), ConvReference.BiasGradient(G, g.N, g.K, g.OH * g.OW), G);
    }

    [Theory, MemberData(nameof(ConvCases.Names), MemberType = typeof(ConvCases))]
    public void Col2ImIsTheAdjointOfIm2Col(string name)
    {
        // <im2col(x), c> = <x, col2im(c)> for random x and c.
        var g = ConvCases.Get(name).Geometry;
        double[] x = R(g.InputShape.ElementCount), c = R(g.ColumnsShape.ElementCount);
        double lhs = GradientCheck.Objective(ConvReference.Im2Col(x, g), c), rhs = GradientCheck.Objective(x, ConvReference.Col2Im(c, g));
        Assert.True(Math.Abs(lhs - rhs) <= 1e-10 * (1 + Math.Abs(lhs)), $"{_rng.Label(name)}: <im2col x, c> = {lhs:R} but <x, col2im c> = {rhs:R}");
    }

    [Theory, MemberData(nameof(PoolCases.SmallNames), MemberType = typeof(PoolCases))]
    public void MaxAndAveragePooling(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        // Distinct values 1e-2 apart: far from ties at h = 1e-6.
        var x = Array.ConvertAll(_rng.DistinctValues((int)g.InputShape.ElementCount), v => (double)v);
        var G = R(g.OutputShape.ElementCount);
        var (_, arg) = PoolReference.MaxForward(x, g);
        GradientCheck.Float64(_rng.Label($"float64 max pool {g}"), x, xi => PoolReference.MaxForward(xi, g).Y, PoolReference.MaxBackward(G, arg, g), G, g.InputShape);
        GradientCheck.Float64(_rng.Label($"float64 avg pool {g}"), x, xi => PoolReference.AvgForward(xi, g), PoolReference.AvgBackward(G, g), G, g.InputShape);
    }

    [Fact]
    public void NearestUpsampling()
    {
        var x = R(2 * 3 * 4);
        var G = R(2 * 3 * 2 * 4 * 3);
        GradientCheck.Float64(_rng.Label("float64 upsample"), x, xi => PoolReference.UpsampleForward(xi, 2, 3, 4, 2, 3),
            PoolReference.UpsampleBackward(G, 2, 3, 4, 2, 3), G);
    }

    [Theory]
    [InlineData(ActivationKind.ReLU, 0)]
    [InlineData(ActivationKind.LeakyReLU, 0.1)]
    [InlineData(ActivationKind.ELU, 0.7)]
    [InlineData(ActivationKind.Sigmoid, 0)]
    [InlineData(ActivationKind.Tanh, 0)]
    public void Activations(ActivationKind kind, double alpha)
    {
        var x = R(60, -3, 3);
        var G = R(60);
        GradientCheck.Float64(_rng.Label($"float64 {kind}"), x, xi => ActivationReference.ActivationForward(kind, alpha, xi),
            ActivationReference.ActivationBackward(kind, alpha, x, G), G, skip: i => Math.Abs(x[i]) < 1e-2);
    }

    [Fact]
    public void Softmax()
    {
        const int rows = 3, classes = 5;
        var x = R(rows * classes, -3, 3);
        var G = R(rows * classes);
        GradientCheck.Float64(_rng.Label("float64 softmax"), x, xi => SoftmaxLossReference.Forward(xi, rows, classes),
            SoftmaxLossReference.Backward(SoftmaxLossReference.Forward(x, rows, classes), G, rows, classes), G);
    }

    /// <summary>Row r of a (rows, classes) gradient scaled by G[r]: the chain rule through L = sum_r G[r] * loss[r].</summary>
    private static double[] ScaleRows(double[] grad, double[] g, int classes)
    {
        var s = (double[])grad.Clone();
        for (int i = 0; i < s.Length; i++) s[i] *= g[i / classes];
        return s;
    }

    [Fact]
    public void SoftmaxCrossEntropy()
    {
        const int rows = 4, classes = 6;
        var x = R(rows * classes, -3, 3);
        var labels = _rng.Labels(rows, classes);
        var G = R(rows);
        var p = SoftmaxLossReference.Forward(x, rows, classes);
        GradientCheck.Float64(_rng.Label("float64 softmax cross-entropy"), x, xi => SoftmaxLossReference.CrossEntropyLosses(xi, labels, rows, classes),
            ScaleRows(SoftmaxLossReference.CrossEntropyBackward(p, labels, rows, classes, 1), G, classes), G);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    [InlineData(5.0)]
    public void FocalLoss(double gamma)
    {
        const int rows = 4, classes = 5;
        var x = R(rows * classes, -3, 3);
        var labels = _rng.Labels(rows, classes);
        var G = R(rows);
        var p = SoftmaxLossReference.Forward(x, rows, classes);
        GradientCheck.Float64(_rng.Label($"float64 focal gamma={gamma}"), x, xi => SoftmaxLossReference.FocalLosses(xi, labels, rows, classes, gamma),
            ScaleRows(SoftmaxLossReference.FocalBackward(p, labels, rows, classes, gamma, 1), G, classes), G);
    }

    [Fact]
    public void Dropout()
    {
        var x = R(200);
        var G = R(200);
        var (_, mask) = ElementwiseReference.Dropout(x, 0.3, 11, 5);
        GradientCheck.Float64(_rng.Label("float64 dropout"), x, xi => ElementwiseReference.Dropout(xi, 0.3, 11, 5).Y,
            ElementwiseReference.Zip(G, mask, (a, b) => a * b), G);
    }

    [Theory]
    [InlineData(new[] { 3, 2, 3, 2 })]
    [InlineData(new[] { 5, 3 })]
    [InlineData(new[] { 1, 2, 7 })]
    public void BatchNormTraining(int[] dims)
    {
        int n = dims[0], c = dims[1], rest = dims.Skip(2).Aggregate(1, (a, b) => a * b);
        var x = R(n * c * rest, -2, 2);
        double[] gamma = R(c, 0.5, 1.5), beta = R(c), G = R(x.Length), zeros = new double[c];
        const double eps = 1e-5;
        double[] Y(double[] xi, double[] gi, double[] bi) => BatchNormReference.ForwardTraining(xi, gi, bi, zeros, zeros, n, c, rest, 0.1, eps).Y;
        var fwd = BatchNormReference.ForwardTraining(x, gamma, beta, zeros, zeros, n, c, rest, 0.1, eps);
        var (dx, dg, db) = BatchNormReference.Backward(x, G, gamma, fwd.Mean, fwd.InvStd, n, c, rest);
        string what = _rng.Label($"float64 batch norm ({string.Join(",", dims)})");
        GradientCheck.Float64(what + " dx", x, xi => Y(xi, gamma, beta), dx, G);
        GradientCheck.Float64(what + " dgamma", gamma, gi => Y(x, gi, beta), dg, G);
        GradientCheck.Float64(what + " dbeta", beta, bi => Y(x, gamma, bi), db, G);
    }

    [Fact]
    public void BiasAddAndChannelAffine()
    {
        const int n = 2, c = 3, rest = 4;
        double[] x = R(n * c * rest), b = R(c), s = R(c), G = R(n * c * rest);
        GradientCheck.Float64(_rng.Label("float64 bias add db"), b, bi => ConvReference.BiasAdd(x, bi, n, c, rest), ConvReference.BiasGradient(G, n, c, rest), G);
        // d/dx of x*scale + shift is G*scale per channel; d/dscale is sum over (n, rest) of G*x.
        var dx = ElementwiseReference.ChannelAffine(G, s, null, n, c, rest);
        var ds = ConvReference.BiasGradient(ElementwiseReference.Zip(G, x, (a, v) => a * v), n, c, rest);
        GradientCheck.Float64(_rng.Label("float64 channel affine dx"), x, xi => ElementwiseReference.ChannelAffine(xi, s, b, n, c, rest), dx, G);
        GradientCheck.Float64(_rng.Label("float64 channel affine dscale"), s, si => ElementwiseReference.ChannelAffine(x, si, b, n, c, rest), ds, G);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Gemm(bool transA, bool transB)
    {
        // C = op(A) op(B): dop(A) = G op(B)^T and dop(B) = op(A)^T G, mapped back through the transpositions.
        const int m = 3, n = 4, k = 5;
        double[] a = R(m * k), b = R(k * n), G = R(m * n);
        double[] C(double[] ai, double[] bi)
        {
            var c = new double[m * n];
            GemmReference.Gemm(transA, transB, m, n, k, 1, ai, 0, bi, 0, 0, c, 0);
            return c;
        }
        var da = new double[m * k];
        var db = new double[k * n];
        // dA stored as A: (m x k) = G (m x n) * op(B)^T, or (k x m) = op(B) * G^T when transA.
        if (!transA) GemmReference.Gemm(false, !transB, m, k, n, 1, G, 0, b, 0, 0, da, 0);
        else GemmReference.Gemm(transB, true, k, m, n, 1, b, 0, G, 0, 0, da, 0);
        // dB stored as B: (k x n) = op(A)^T G, or (n x k) = G^T op(A) when transB.
        if (!transB) GemmReference.Gemm(!transA, false, k, n, m, 1, a, 0, G, 0, 0, db, 0);
        else GemmReference.Gemm(true, transA, n, k, m, 1, G, 0, a, 0, 0, db, 0);
        GradientCheck.Float64(_rng.Label($"float64 gemm dA tA={transA} tB={transB}"), a, ai => C(ai, b), da, G);
        GradientCheck.Float64(_rng.Label($"float64 gemm dB tA={transA} tB={transB}"), b, bi => C(a, bi), db, G);
    }
}
