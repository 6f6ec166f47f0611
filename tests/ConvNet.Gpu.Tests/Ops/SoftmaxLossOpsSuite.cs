using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Softmax, softmax cross-entropy and focal loss, forward and backward, against <see cref="SoftmaxReference"/>.</summary>
public abstract class SoftmaxLossOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    public static TheoryData<int, int> Sizes => new() { { 1, 2 }, { 4, 10 }, { 3, 37 }, { 7, 1 }, { 2, 300 } };

    /// <summary>Logits in [-8, 8], with one large shift per row so stability matters (exp(90) overflows float32).</summary>
    private float[] Logits(int rows, int classes)
    {
        var x = Rng.Uniform(rows * classes, -8f, 8f);
        for (int r = 0; r < rows; r++)
        {
            float shift = r % 2 == 0 ? 90f : -90f;
            for (int j = 0; j < classes; j++) x[r * classes + j] += shift;
        }
        return x;
    }

    [Theory, MemberData(nameof(Sizes))]
    public void SoftmaxForwardIsStableAndMatches(int rows, int classes)
    {
        var x = Logits(rows, classes);
        var shape = TensorShape.Matrix(rows, classes);
        Verify($"SoftmaxForward ({rows}x{classes})", (b, r) =>
        {
            var y = Out(b, shape);
            b.SoftmaxForward(In(b, x, shape), y);
            r.Add("y", y, OpKind.Pointwise);
        }, Expect(("y", SoftmaxReference.Forward(D(x), rows, classes))));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void SoftmaxBackwardMatchesJacobian(int rows, int classes)
    {
        var shape = TensorShape.Matrix(rows, classes);
        var y = Array.ConvertAll(SoftmaxReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var dy = Rng.Uniform(rows * classes);
        Verify($"SoftmaxBackward ({rows}x{classes})", (b, r) =>
        {
            var dx = Out(b, shape);
            b.SoftmaxBackward(In(b, y, shape), In(b, dy, shape), dx);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", SoftmaxReference.Backward(D(y), D(dy), rows, classes))));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void CrossEntropyForwardGivesProbabilitiesAndLosses(int rows, int classes)
    {
        var x = Logits(rows, classes);
        var labels = Rng.Labels(rows, classes);
        var shape = TensorShape.Matrix(rows, classes);
        Verify($"SoftmaxCrossEntropyForward ({rows}x{classes})", (b, r) =>
        {
            var p = Out(b, shape);
            var l = Out(b, TensorShape.Vector(rows));
            b.SoftmaxCrossEntropyForward(In(b, x, shape), InInt(b, labels, TensorShape.Vector(rows)), p, l);
            r.Add("p", p, OpKind.Pointwise).Add("loss", l, OpKind.Pointwise);
        }, Expect(("p", SoftmaxReference.Forward(D(x), rows, classes)), ("loss", SoftmaxReference.CrossEntropyLosses(D(x), labels, rows, classes))));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void CrossEntropyBackwardIsScaledProbabilitiesMinusOneHot(int rows, int classes)
    {
        var shape = TensorShape.Matrix(rows, classes);
        var p = Array.ConvertAll(SoftmaxReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var labels = Rng.Labels(rows, classes);
        float scale = 1f / rows;
        Verify($"SoftmaxCrossEntropyBackward ({rows}x{classes})", (b, r) =>
        {
            var g = Out(b, shape);
            b.SoftmaxCrossEntropyBackward(In(b, p, shape), InInt(b, labels, TensorShape.Vector(rows)), g, scale);
            r.Add("dlogits", g, OpKind.Pointwise);
        }, Expect(("dlogits", SoftmaxReference.CrossEntropyBackward(D(p), labels, rows, classes, scale))));
    }

    public static TheoryData<float> Gammas => new() { 0f, 0.5f, 1f, 2f, 5f };

    [Theory, MemberData(nameof(Gammas))]
    public void FocalForwardMatches(float gamma)
    {
        const int rows = 5, classes = 7;
        var shape = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes, -3f, 3f);
        var labels = Rng.Labels(rows, classes);
        Verify($"FocalLossForward gamma={gamma}", (b, r) =>
        {
            var p = Out(b, shape);
            var l = Out(b, TensorShape.Vector(rows));
            b.FocalLossForward(In(b, x, shape), InInt(b, labels, TensorShape.Vector(rows)), gamma, p, l);
            r.Add("p", p, OpKind.Pointwise).Add("loss", l, OpKind.Pointwise);
        }, Expect(("p", SoftmaxReference.Forward(D(x), rows, classes)), ("loss", SoftmaxReference.FocalLosses(D(x), labels, rows, classes, gamma))));
    }

    [Theory, MemberData(nameof(Gammas))]
    public void FocalBackwardMatches(float gamma)
    {
        const int rows = 5, classes = 7;
        var shape = TensorShape.Matrix(rows, classes);
        var p = Array.ConvertAll(SoftmaxReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var labels = Rng.Labels(rows, classes);
        Verify($"FocalLossBackward gamma={gamma}", (b, r) =>
        {
            var g = Out(b, shape);
            b.FocalLossBackward(In(b, p, shape), InInt(b, labels, TensorShape.Vector(rows)), gamma, g, 0.25f);
            r.Add("dlogits", g, OpKind.Pointwise);
        }, Expect(("dlogits", SoftmaxReference.FocalBackward(D(p), labels, rows, classes, gamma, 0.25))));
    }

    [Fact]
    public void FocalWithGammaZeroIsCrossEntropy()
    {
        const int rows = 4, classes = 6;
        var shape = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes, -3f, 3f);
        var labels = Rng.Labels(rows, classes);
        var ce = SoftmaxReference.CrossEntropyLosses(D(x), labels, rows, classes);
        Verify("FocalLossForward gamma=0 vs cross-entropy", (b, r) =>
        {
            var p = Out(b, shape);
            var l = Out(b, TensorShape.Vector(rows));
            b.FocalLossForward(In(b, x, shape), InInt(b, labels, TensorShape.Vector(rows)), 0f, p, l);
            r.Add("loss", l, OpKind.Pointwise);
        }, Expect(("loss", ce)));
    }

    [Fact]
    public void OutOfRangeLabelGivesNaNLossForThatRowOnly()
    {
        const int rows = 3, classes = 4;
        var shape = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes);
        int[] labels = [1, classes, 2];
        var l = Out(B, TensorShape.Vector(rows));
        B.SoftmaxCrossEntropyForward(In(B, x, shape), InInt(B, labels, TensorShape.Vector(rows)), Out(B, shape), l);
        var losses = l.ToArray();
        Assert.True(float.IsNaN(losses[1]), $"label {classes} of {classes} classes should give NaN, got {losses[1]}");
        Assert.True(float.IsFinite(losses[0]) && float.IsFinite(losses[2]), $"other rows must stay finite: {string.Join(", ", losses)}");

        // The gradient of the bad row is NaN too (it must not train silently); the other rows are untouched by it.
        var p = Out(B, shape);
        B.SoftmaxCrossEntropyForward(In(B, x, shape), InInt(B, labels, TensorShape.Vector(rows)), p, Out(B, TensorShape.Vector(rows)));
        var grad = Out(B, shape);
        B.SoftmaxCrossEntropyBackward(p, InInt(B, labels, TensorShape.Vector(rows)), grad, 1f);
        var gs = grad.ToArray();
        Assert.All(gs.AsSpan(classes, classes).ToArray(), v => Assert.True(float.IsNaN(v), $"row 1 gradient should be NaN, got {v}"));
        Assert.All(gs.Where((_, i) => i / classes != 1), v => Assert.True(float.IsFinite(v), $"rows 0 and 2 must stay finite, got {v}"));
    }

    [Fact]
    public void SoftmaxAndLossesAreDeterministic()
    {
        const int rows = 16, classes = 33;
        var shape = TensorShape.Matrix(rows, classes);
        var x = Logits(rows, classes);
        var labels = Rng.Labels(rows, classes);
        var dy = Rng.Uniform(rows * classes);
        AssertDeterministic("softmax and losses", (b, r) =>
        {
            var xi = In(b, x, shape);
            var li = InInt(b, labels, TensorShape.Vector(rows));
            var y = Out(b, shape); var dx = Out(b, shape); var p = Out(b, shape); var l = Out(b, TensorShape.Vector(rows));
            var g = Out(b, shape); var fp = Out(b, shape); var fl = Out(b, TensorShape.Vector(rows)); var fg = Out(b, shape);
            b.SoftmaxForward(xi, y);
            b.SoftmaxBackward(y, In(b, dy, shape), dx);
            b.SoftmaxCrossEntropyForward(xi, li, p, l);
            b.SoftmaxCrossEntropyBackward(p, li, g, 1f / rows);
            b.FocalLossForward(xi, li, 2f, fp, fl);
            b.FocalLossBackward(fp, li, 2f, fg, 1f / rows);
            r.Add("y", y, OpKind.Pointwise).Add("dx", dx, OpKind.Pointwise).Add("p", p, OpKind.Pointwise).Add("loss", l, OpKind.Pointwise)
             .Add("g", g, OpKind.Pointwise).Add("focal loss", fl, OpKind.Pointwise).Add("focal g", fg, OpKind.Pointwise);
        });
    }
}
