using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Gradients;

/// <summary>
/// Float32 gradient checks on the backend under test (Caffe's GradientChecker, testing.md): each backward op, fed dY = G,
/// against central differences of the same backend's forward op, with L = sum(G ∘ y) for a fixed random G.
/// Covers every op with a backward: conv (dX, dW, db), dense (GEMM + bias), max/avg pooling, upsampling, activations,
/// softmax, softmax cross-entropy, focal loss, batch norm and dropout.
/// </summary>
public abstract class GradientCheckSuite(BackendUnderTest backend) : ConvGradientCheckBase(backend)
{
    private double[] G(long n, out float[] gFloat)
    {
        gFloat = Rng.Uniform(n);
        return Array.ConvertAll(gFloat, v => (double)v);
    }

    [Theory, MemberData(nameof(ConvCases.GradientNames), MemberType = typeof(ConvCases))]
    public void Conv(string name) => CheckConvGradients(name, B, GradientCheck.Settings.ConvDense);

    [Theory]
    [InlineData(1, 7, 3)]
    [InlineData(4, 10, 6)]
    public void DenseThroughGemmAndBias(int n, int inputs, int outputs)
    {
        // y (n, out) = x (n, in) W^T + b; dx = G W; dW = G^T x; db = column sums of G.
        float[] x = Rng.Uniform(n * inputs), w = Rng.Uniform(outputs * inputs), b = Rng.Uniform(outputs);
        var gd = G(n * outputs, out var gf);
        Tensor xt = In(B, x, TensorShape.Matrix(n, inputs)), wt = In(B, w, TensorShape.Matrix(outputs, inputs)), bt = In(B, b, TensorShape.Vector(outputs));
        Tensor yt = Out(B, TensorShape.Matrix(n, outputs)), gt = In(B, gf, TensorShape.Matrix(n, outputs));
        Tensor dx = Out(B, xt.Shape), dw = Out(B, wt.Shape), db = Out(B, bt.Shape);
        B.Gemm(false, false, n, inputs, outputs, 1f, gt, wt, 0f, dx);
        B.Gemm(true, false, outputs, inputs, n, 1f, gt, xt, 0f, dw);
        B.BiasGradient(gt, db, accumulate: false);
        float[] Y() { B.Gemm(false, true, n, outputs, inputs, 1f, xt, wt, 0f, yt); B.BiasAdd(yt, bt); return yt.ToArray(); }
        string what = Rng.Label($"{Under.Name} dense {inputs}->{outputs} batch {n}");
        GradientCheck.Float32(what + " dx", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd, GradientCheck.Settings.ConvDense, xt.Shape);
        xt.Upload(x);
        GradientCheck.Float32(what + " dW", w, v => { wt.Upload(v); return Y(); }, dw.ToArray(), gd, GradientCheck.Settings.ConvDense, wt.Shape);
        wt.Upload(w);
        GradientCheck.Float32(what + " db", b, v => { bt.Upload(v); return Y(); }, db.ToArray(), gd, GradientCheck.Settings.ConvDense, bt.Shape);
    }

    [Theory, MemberData(nameof(PoolCases.SmallNames), MemberType = typeof(PoolCases))]
    public void MaxPool(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        // Distinct values 1e-2 apart: no near-ties, so a 1e-4 step never flips an argmax.
        var x = Rng.DistinctValues((int)g.InputShape.ElementCount);
        var gd = G(g.OutputShape.ElementCount, out var gf);
        Tensor xt = In(B, x, g.InputShape), yt = Out(B, g.OutputShape), arg = Out(B, g.OutputShape, DataType.Int32), dx = Out(B, g.InputShape);
        B.MaxPool2dForward(xt, yt, arg, g);
        B.MaxPool2dBackward(In(B, gf, g.OutputShape), arg, dx, g);
        GradientCheck.Float32(Rng.Label($"{Under.Name} max pool {g}"), x, v => { xt.Upload(v); B.MaxPool2dForward(xt, yt, arg, g); return yt.ToArray(); },
            dx.ToArray(), gd, GradientCheck.Settings.MaxPool, g.InputShape);
    }

    [Theory, MemberData(nameof(PoolCases.SmallNames), MemberType = typeof(PoolCases))]
    public void AvgPool(string name)
    {
        var g = PoolCases.Get(name).Geometry;
        var x = Rng.Uniform(g.InputShape.ElementCount);
        var gd = G(g.OutputShape.ElementCount, out var gf);
        Tensor xt = In(B, x, g.InputShape), yt = Out(B, g.OutputShape), dx = Out(B, g.InputShape);
        B.AvgPool2dBackward(In(B, gf, g.OutputShape), dx, g);
        GradientCheck.Float32(Rng.Label($"{Under.Name} avg pool {g} countIncludePad={g.CountIncludePadding}"), x,
            v => { xt.Upload(v); B.AvgPool2dForward(xt, yt, g); return yt.ToArray(); }, dx.ToArray(), gd, GradientCheck.Settings.AvgPool, g.InputShape);
    }

    [Fact]
    public void Upsample()
    {
        var s = TensorShape.Nchw(2, 2, 3, 4);
        var big = TensorShape.Nchw(2, 2, 6, 12);
        var x = Rng.Uniform(s.ElementCount);
        var gd = G(big.ElementCount, out var gf);
        Tensor xt = In(B, x, s), yt = Out(B, big), dx = Out(B, s);
        B.UpsampleNearest2dBackward(In(B, gf, big), dx, 2, 3);
        GradientCheck.Float32(Rng.Label($"{Under.Name} upsample x(2,3)"), x, v => { xt.Upload(v); B.UpsampleNearest2dForward(xt, yt, 2, 3); return yt.ToArray(); },
            dx.ToArray(), gd, GradientCheck.Settings.ConvDense, s);
    }

    [Theory]
    [InlineData(ActivationKind.ReLU, 0f)]
    [InlineData(ActivationKind.LeakyReLU, 0.1f)]
    [InlineData(ActivationKind.ELU, 1f)]
    [InlineData(ActivationKind.ELU, 0.3f)]
    [InlineData(ActivationKind.Sigmoid, 0f)]
    [InlineData(ActivationKind.Tanh, 0f)]
    public void Activation(ActivationKind kind, float alpha)
    {
        var s = TensorShape.Nchw(2, 3, 4, 5);
        var x = Rng.Uniform(s.ElementCount, -3f, 3f);
        var gd = G(s.ElementCount, out var gf);
        Tensor xt = In(B, x, s), yt = Out(B, s), dx = Out(B, s);
        B.ActivationForward(kind, alpha, xt, yt);
        B.ActivationBackward(kind, alpha, xt, yt, In(B, gf, s), dx);
        GradientCheck.Float32(Rng.Label($"{Under.Name} {kind}({alpha})"), x, v => { xt.Upload(v); B.ActivationForward(kind, alpha, xt, yt); return yt.ToArray(); },
            dx.ToArray(), gd, GradientCheck.Settings.Smooth, s, skip: i => Math.Abs(x[i]) < 1e-2); // kink at 0
    }

    [Fact]
    public void Softmax()
    {
        var s = TensorShape.Matrix(3, 7);
        var x = Rng.Uniform(21, -3f, 3f);
        var gd = G(21, out var gf);
        Tensor xt = In(B, x, s), yt = Out(B, s), dx = Out(B, s);
        B.SoftmaxForward(xt, yt);
        B.SoftmaxBackward(yt, In(B, gf, s), dx);
        GradientCheck.Float32(Rng.Label($"{Under.Name} softmax"), x, v => { xt.Upload(v); B.SoftmaxForward(xt, yt); return yt.ToArray(); },
            dx.ToArray(), gd, GradientCheck.Settings.Smooth, s);
    }

    /// <summary>Row r of the per-row loss gradient times G[r]: the chain rule through L = sum_r G[r] loss[r] (the op takes one scale).</summary>
    private static float[] ScaleRows(float[] grad, float[] g, int classes)
    {
        var s = (float[])grad.Clone();
        for (int i = 0; i < s.Length; i++) s[i] *= g[i / classes];
        return s;
    }

    [Fact]
    public void SoftmaxCrossEntropy()
    {
        const int rows = 4, classes = 6;
        var s = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes, -3f, 3f);
        var labels = InInt(B, Rng.Labels(rows, classes), TensorShape.Vector(rows));
        var gd = G(rows, out var gf);
        Tensor xt = In(B, x, s), p = Out(B, s), loss = Out(B, TensorShape.Vector(rows)), dx = Out(B, s);
        B.SoftmaxCrossEntropyForward(xt, labels, p, loss);
        B.SoftmaxCrossEntropyBackward(p, labels, dx, 1f);
        GradientCheck.Float32(Rng.Label($"{Under.Name} softmax cross-entropy"), x,
            v => { xt.Upload(v); B.SoftmaxCrossEntropyForward(xt, labels, p, loss); return loss.ToArray(); },
            ScaleRows(dx.ToArray(), gf, classes), gd, GradientCheck.Settings.Smooth, s);
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(2f)]
    public void FocalLoss(float gamma)
    {
        const int rows = 4, classes = 5;
        var s = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes, -2f, 2f);
        var labels = InInt(B, Rng.Labels(rows, classes), TensorShape.Vector(rows));
        var gd = G(rows, out var gf);
        Tensor xt = In(B, x, s), p = Out(B, s), loss = Out(B, TensorShape.Vector(rows)), dx = Out(B, s);
        B.FocalLossForward(xt, labels, gamma, p, loss);
        B.FocalLossBackward(p, labels, gamma, dx, 1f);
        GradientCheck.Float32(Rng.Label($"{Under.Name} focal gamma={gamma}"), x,
            v => { xt.Upload(v); B.FocalLossForward(xt, labels, gamma, p, loss); return loss.ToArray(); },
            ScaleRows(dx.ToArray(), gf, classes), gd, GradientCheck.Settings.Curved, s);
    }

    [Theory]
    [InlineData(new[] { 4, 3, 3, 2 })]
    [InlineData(new[] { 6, 4 })]
    public void BatchNormTraining(int[] dims)
    {
        var s = TensorShape.Of(dims);
        int c = dims[1];
        var cv = TensorShape.Vector(c);
        float[] x = Rng.Uniform(s.ElementCount, -2f, 2f), gamma = Rng.Uniform(c, 0.5f, 1.5f), beta = Rng.Uniform(c);
        var gd = G(s.ElementCount, out var gf);
        Tensor xt = In(B, x, s), gt = In(B, gamma, cv), bt = In(B, beta, cv), yt = Out(B, s);
        Tensor mean = Out(B, cv), inv = Out(B, cv), rm = In(B, new float[c], cv), rv = In(B, new float[c], cv);
        Tensor dx = Out(B, s), dg = Out(B, cv), db = Out(B, cv);
        float[] Y() { B.BatchNorm2dForwardTraining(xt, gt, bt, yt, mean, inv, rm, rv, 0.1f, 1e-5f); return yt.ToArray(); }
        Y();
        B.BatchNorm2dBackward(xt, In(B, gf, s), gt, mean, inv, dx, dg, db, accumulate: false);
        string what = Rng.Label($"{Under.Name} batch norm {s}");
        GradientCheck.Float32(what + " dx", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd, GradientCheck.Settings.Curved, s);
        xt.Upload(x);
        GradientCheck.Float32(what + " dgamma", gamma, v => { gt.Upload(v); return Y(); }, dg.ToArray(), gd, GradientCheck.Settings.Curved, cv);
        gt.Upload(gamma);
        GradientCheck.Float32(what + " dbeta", beta, v => { bt.Upload(v); return Y(); }, db.ToArray(), gd, GradientCheck.Settings.Curved, cv);
    }

    [Fact]
    public void Dropout()
    {
        var s = TensorShape.Vector(300);
        var x = Rng.Uniform(300);
        var gd = G(300, out var gf);
        Tensor xt = In(B, x, s), yt = Out(B, s), mask = Out(B, s), dx = Out(B, s);
        B.DropoutForward(xt, yt, mask, 0.4f, 77, 3);
        B.Mul(In(B, gf, s), mask, dx); // dropout backward = dY * mask
        GradientCheck.Float32(Rng.Label($"{Under.Name} dropout"), x, v => { xt.Upload(v); B.DropoutForward(xt, yt, mask, 0.4f, 77, 3); return yt.ToArray(); },
            dx.ToArray(), gd, GradientCheck.Settings.ConvDense, s);
    }
}
