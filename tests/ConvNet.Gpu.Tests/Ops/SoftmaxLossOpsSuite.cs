using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Softmax, softmax cross-entropy and focal loss, forward and backward, against <see cref="SoftmaxLossReference"/>.</summary>
public abstract class SoftmaxLossOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>Row shapes; 1,500 classes is above the CUDA backend's one-group-per-row limit (1,024), so its block-per-row kernels run too.</summary>
    public static TheoryData<int, int> Sizes => new() { { 1, 2 }, { 4, 10 }, { 3, 37 }, { 7, 1 }, { 2, 300 }, { 9, 33 }, { 2, 1500 } };

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
        }, Expect(("y", SoftmaxLossReference.Forward(D(x), rows, classes))));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void SoftmaxBackwardMatchesJacobian(int rows, int classes)
    {
        var shape = TensorShape.Matrix(rows, classes);
        var y = Array.ConvertAll(SoftmaxLossReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var dy = Rng.Uniform(rows * classes);
        Verify($"SoftmaxBackward ({rows}x{classes})", (b, r) =>
        {
            var dx = Out(b, shape);
            b.SoftmaxBackward(In(b, y, shape), In(b, dy, shape), dx);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", SoftmaxLossReference.Backward(D(y), D(dy), rows, classes))));
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
        }, Expect(("p", SoftmaxLossReference.Forward(D(x), rows, classes)), ("loss", SoftmaxLossReference.CrossEntropyLosses(D(x), labels, rows, classes))));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void CrossEntropyBackwardIsScaledProbabilitiesMinusOneHot(int rows, int classes)
    {
        var shape = TensorShape.Matrix(rows, classes);
        var p = Array.ConvertAll(SoftmaxLossReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var labels = Rng.Labels(rows, classes);
        float scale = 1f / rows;
        Verify($"SoftmaxCrossEntropyBackward ({rows}x{classes})", (b, r) =>
        {
            var g = Out(b, shape);
            b.SoftmaxCrossEntropyBackward(In(b, p, shape), InInt(b, labels, TensorShape.Vector(rows)), g, scale);
            r.Add("dlogits", g, OpKind.Pointwise);
        }, Expect(("dlogits", SoftmaxLossReference.CrossEntropyBackward(D(p), labels, rows, classes, scale))));
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
        }, Expect(("p", SoftmaxLossReference.Forward(D(x), rows, classes)), ("loss", SoftmaxLossReference.FocalLosses(D(x), labels, rows, classes, gamma))));
    }

    [Theory, MemberData(nameof(Gammas))]
    public void FocalBackwardMatches(float gamma)
    {
        const int rows = 5, classes = 7;
        var shape = TensorShape.Matrix(rows, classes);
        var p = Array.ConvertAll(SoftmaxLossReference.Forward(D(Rng.Uniform(rows * classes, -3f, 3f)), rows, classes), v => (float)v);
        var labels = Rng.Labels(rows, classes);
        Verify($"FocalLossBackward gamma={gamma}", (b, r) =>
        {
            var g = Out(b, shape);
            b.FocalLossBackward(In(b, p, shape), InInt(b, labels, TensorShape.Vector(rows)), gamma, g, 0.25f);
            r.Add("dlogits", g, OpKind.Pointwise);
        }, Expect(("dlogits", SoftmaxLossReference.FocalBackward(D(p), labels, rows, classes, gamma, 0.25))));
    }

    [Fact]
    public void FocalWithGammaZeroIsCrossEntropy()
    {
        const int rows = 4, classes = 6;
        var shape = TensorShape.Matrix(rows, classes);
        var x = Rng.Uniform(rows * classes, -3f, 3f);
        var labels = Rng.Labels(rows, classes);
        var ce = SoftmaxLossReference.CrossEntropyLosses(D(x), labels, rows, classes);
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

    // ------------------------------------------------------------------ the fused classification step

    public static TheoryData<int, int, bool> StepSizes => new()
    {
        { 1, 2, false }, { 64, 10, false }, { 9, 37, true }, { 70, 5, false }, { 3, 300, true }, { 5, 1500, false },
    };

    [Theory, MemberData(nameof(StepSizes))]
    public void ClassificationStepGivesProbabilitiesLossesGradientPredictionsAndMetrics(int rows, int classes, bool focal)
    {
        const float gamma = 2f;
        var x = Rng.Uniform(rows * classes, -4f, 4f);
        var labels = Rng.Labels(rows, classes);
        var shape = TensorShape.Matrix(rows, classes);
        var p = SoftmaxLossReference.Forward(D(x), rows, classes);
        var losses = focal ? SoftmaxLossReference.FocalLosses(D(x), labels, rows, classes, gamma) : SoftmaxLossReference.CrossEntropyLosses(D(x), labels, rows, classes);
        var grad = focal ? SoftmaxLossReference.FocalBackward(p, labels, rows, classes, gamma, 1.0 / rows)
                         : SoftmaxLossReference.CrossEntropyBackward(p, labels, rows, classes, 1.0 / rows);
        var predicted = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            int best = 0;
            for (int j = 1; j < classes; j++) if (p[r * classes + j] > p[r * classes + best]) best = j;
            predicted[r] = best;
        }
        var kind = focal ? ClassificationLossKind.Focal : ClassificationLossKind.CrossEntropy;
        var result = Verify($"ClassificationStep ({rows}x{classes}) focal={focal}", (b, r) =>
        {
            var pi = Out(b, shape); var li = Out(b, TensorShape.Vector(rows)); var gi = Out(b, shape); var pred = Out(b, TensorShape.Vector(rows), DataType.Int32);
            using var metrics = new ClassificationMetrics(b, classes, capacity: 4);
            b.ClassificationStep(In(b, x, shape), InInt(b, labels, TensorShape.Vector(rows)), kind, gamma, pi, li, pred, gi, metrics,
                ClassificationStepMode.TrainStopOnNonFinite);
            r.Add("p", pi, OpKind.Pointwise).Add("loss", li, OpKind.Pointwise).Add("grad", gi, OpKind.Pointwise).Add("predictions", pred, OpKind.Exact);
        }, Expect(("p", p), ("loss", losses), ("grad", grad), ("predictions", predicted)));

        // The metrics: the host's own arithmetic on the backend's own losses and predictions.
        using var m = new ClassificationMetrics(B, classes, capacity: 4);
        var pOut = Out(B, shape); var lOut = Out(B, TensorShape.Vector(rows)); var predOut = Out(B, TensorShape.Vector(rows), DataType.Int32);
        B.ClassificationStep(In(B, x, shape), InInt(B, labels, TensorShape.Vector(rows)), kind, gamma, pOut, lOut, predOut, null, m,
            ClassificationStepMode.TrainStopOnNonFinite);
        var snap = m.Read();
        var hostLosses = lOut.ToArray();
        var hostPred = predOut.ToInt32Array();
        double sum = 0;
        foreach (float l in hostLosses) sum += l;
        float mean = (float)(sum / rows);
        int correct = Enumerable.Range(0, rows).Count(r => hostPred[r] == labels[r]);
        Assert.Equal(hostPred, result["predictions"].Ints);
        Assert.Equal((1, 0, false, null), (snap.StepsRecorded, snap.SkippedSteps, snap.Stopped, snap.FirstNonFiniteStep));
        Assert.Equal(mean, snap.StepLoss(0));
        Assert.Equal((correct, rows, correct), (snap.StepCorrect(0), snap.Seen, snap.Correct));
        Assert.Equal((double)mean * rows, snap.LossSum);
        var confusion = new int[classes * classes];
        for (int r = 0; r < rows; r++) confusion[labels[r] * classes + hostPred[r]]++;
        Assert.Equal(confusion, snap.Confusion.ToArray());
    }

    [Fact]
    public void PredictionsScanFromIndexZeroAndMoveOnlyOnStrictlyGreater()
    {
        // Ties keep the first index; a row of equal logits predicts 0; NaN logits make the row's probabilities NaN: class 0.
        float[] x = [1f, 3f, 3f, 2f, /**/ 5f, 5f, 5f, 5f, /**/ float.NaN, 1f, 2f, 3f, /**/ 0f, -1f, 4f, 4f];
        int[] labels = [1, 0, 3, 3];
        var shape = TensorShape.Matrix(4, 4);
        var pred = Out(B, TensorShape.Vector(4), DataType.Int32);
        using var metrics = new ClassificationMetrics(B, 4, capacity: 2);
        B.ClassificationStep(In(B, x, shape), InInt(B, labels, TensorShape.Vector(4)), ClassificationLossKind.CrossEntropy, 0f, Out(B, shape),
            Out(B, TensorShape.Vector(4)), pred, null, metrics, ClassificationStepMode.Evaluate);
        Assert.Equal([1, 0, 0, 2], pred.ToInt32Array());
        var snap = metrics.Read();
        Assert.Equal((0, 4, 2), (snap.StepsRecorded, snap.Seen, snap.Correct)); // evaluation counts even a NaN batch, records no step
        Assert.True(double.IsNaN(snap.LossSum));
    }

    [Fact]
    public void MetricsAccumulateOverStepsKeepARingAndResetPerEpoch()
    {
        const int rows = 6, classes = 3, steps = 5;
        var shape = TensorShape.Matrix(rows, classes);
        using var metrics = new ClassificationMetrics(B, classes, capacity: 3);
        var means = new float[steps];
        var correct = new int[steps];
        int seenAfterReset = 0, correctAfterReset = 0;
        double lossSumAfterReset = 0;
        for (int s = 0; s < steps; s++)
        {
            if (s == 2)
            {
                metrics.ResetEpoch();
                (seenAfterReset, correctAfterReset, lossSumAfterReset) = (0, 0, 0);
            }
            var x = Rng.Uniform(rows * classes, -3f, 3f);
            var labels = Rng.Labels(rows, classes);
            var l = Out(B, TensorShape.Vector(rows)); var pred = Out(B, TensorShape.Vector(rows), DataType.Int32);
            B.ClassificationStep(In(B, x, shape), InInt(B, labels, TensorShape.Vector(rows)), ClassificationLossKind.CrossEntropy, 0f, Out(B, shape),
                l, pred, Out(B, shape), metrics, ClassificationStepMode.TrainSkipNonFinite);
            double sum = 0;
            foreach (float v in l.ToArray()) sum += v;
            means[s] = (float)(sum / rows);
            var pr = pred.ToInt32Array();
            correct[s] = Enumerable.Range(0, rows).Count(r => pr[r] == labels[r]);
            seenAfterReset += rows;
            correctAfterReset += correct[s];
            lossSumAfterReset += (double)means[s] * rows;
        }
        var snap = metrics.Read();
        Assert.Equal(steps, snap.StepsRecorded);
        Assert.False(snap.HasStep(1)); // overwritten: the ring keeps the last 3
        for (int s = 2; s < steps; s++) Assert.Equal((means[s], correct[s]), (snap.StepLoss(s), snap.StepCorrect(s)));
        Assert.Equal((seenAfterReset, correctAfterReset, lossSumAfterReset), (snap.Seen, snap.Correct, snap.LossSum));
        Assert.Equal(seenAfterReset, snap.Confusion.ToArray().Sum());
        Assert.Throws<ArgumentOutOfRangeException>(() => snap.StepLoss(0));
    }

    [Theory]
    [InlineData(ClassificationStepMode.TrainStopOnNonFinite)]
    [InlineData(ClassificationStepMode.TrainSkipNonFinite)]
    public void ANonFiniteLossSetsTheGuardAndIsNotCounted(ClassificationStepMode mode)
    {
        const int rows = 4, classes = 3;
        var shape = TensorShape.Matrix(rows, classes);
        using var metrics = new ClassificationMetrics(B, classes, capacity: 8);
        void Step(bool bad)
        {
            var x = Rng.Uniform(rows * classes);
            if (bad) x[5] = float.PositiveInfinity - float.PositiveInfinity; // NaN logit: that row's loss is NaN
            B.ClassificationStep(In(B, x, shape), InInt(B, Rng.Labels(rows, classes), TensorShape.Vector(rows)), ClassificationLossKind.CrossEntropy, 0f,
                Out(B, shape), Out(B, TensorShape.Vector(rows)), Out(B, TensorShape.Vector(rows), DataType.Int32), Out(B, shape), metrics, mode);
        }
        Step(false);
        Step(true);
        var guard = metrics.Guard.ToInt32Array();
        Assert.Equal(1, guard[1]);
        Step(false);
        Step(true);
        var snap = metrics.Read();
        Assert.Equal(4, snap.StepsRecorded);
        Assert.True(float.IsNaN(snap.StepLoss(1)) && float.IsNaN(snap.StepLoss(3)));
        Assert.Equal(2 * rows, snap.Seen);
        if (mode == ClassificationStepMode.TrainStopOnNonFinite)
            Assert.Equal((true, (int?)1, 0), (snap.Stopped, snap.FirstNonFiniteStep, snap.SkippedSteps));
        else
            Assert.Equal((false, (int?)null, 2), (snap.Stopped, snap.FirstNonFiniteStep, snap.SkippedSteps));
    }
}
