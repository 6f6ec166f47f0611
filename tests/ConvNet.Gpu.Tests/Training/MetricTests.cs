using ConvNet.Gpu.Data;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// The metrics against values worked out by hand (the same as scikit-learn's precision_score, recall_score and f1_score
/// with average="macro", and Keras's TopKCategoricalAccuracy), accumulated over several batches.
/// </summary>
public sealed class MetricTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(1);

    public void Dispose() => _b.Dispose();

    private Tensor Scores(int classes, params float[] values)
    {
        var t = _b.Allocate(TensorShape.Matrix(values.Length / classes, classes));
        t.Upload(values);
        return t;
    }

    private Tensor Labels(params int[] values)
    {
        var t = _b.Allocate(TensorShape.Vector(values.Length), DataType.Int32);
        t.Upload(values);
        return t;
    }

    private Tensor Values(TensorShape shape, params float[] values)
    {
        var t = _b.Allocate(shape);
        t.Upload(values);
        return t;
    }

    // One-hot-ish scores whose arg-max is 'predicted' (3 classes).
    private static float[] Predicting(params int[] predicted) =>
        predicted.SelectMany(p => Enumerable.Range(0, 3).Select(c => c == p ? 2f : c * 0.1f)).ToArray();

    [Fact]
    public void MacroPrecisionRecallAndF1MatchTheHandCountsOverSeveralBatches()
    {
        // labels 0 0 1 | 1 2 2, predictions 0 1 1 | 1 0 2:
        // class 0: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2; class 1: TP 2, FP 1, FN 0 -> P 2/3, R 1, F1 4/5;
        // class 2: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3.
        var metrics = new ClassCounts[] { new MacroPrecision(), new MacroRecall(), new MacroF1() };
        using (var s1 = Scores(3, Predicting(0, 1, 1)))
        using (var l1 = Labels(0, 0, 1))
        using (var s2 = Scores(3, Predicting(1, 0, 2)))
        using (var l2 = Labels(1, 2, 2))
            foreach (var m in metrics)
            {
                m.Update(s1, l1);
                m.Update(s2, l2);
            }
        Assert.Equal((0.5 + 2.0 / 3 + 1) / 3, metrics[0].Result(), 12);
        Assert.Equal((0.5 + 1 + 0.5) / 3, metrics[1].Result(), 12);
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, metrics[2].Result(), 12);
        Assert.Equal(0.8, metrics[2].F1(1), 12);
        Assert.Equal(2, metrics[0].TruePositives(1));
        Assert.Equal(1, metrics[0].FalseNegatives(2));
        metrics[2].Reset();
        Assert.True(double.IsNaN(metrics[2].Result()));
    }

    [Fact]
    public void ConfusionMatrixGivesTheSamePerClassF1()
    {
        var cm = new ConfusionMatrix(4);
        foreach (var (a, p) in new[] { (0, 0), (0, 1), (1, 1), (1, 1), (2, 0), (2, 2) }) cm.Add(a, p);
        Assert.Equal(0.5, cm.F1(0), 12);
        Assert.Equal(0.8, cm.F1(1), 12);
        Assert.Equal(2.0 / 3, cm.F1(2), 12);
        Assert.Equal(0, cm.F1(3)); // never seen: left out of the macro average
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, cm.MacroF1, 12);
    }

    [Fact]
    public void MultiHotCountsEveryClassOfEverySample()
    {
        // 2 samples x 3 classes: logits > 0 predict the class. Targets [1 0 1], [0 1 1]; predictions [1 1 0], [0 1 1].
        // class 0: TP 1; class 1: TP 1, FP 1; class 2: TP 1, FN 1.
        using var z = Values(TensorShape.Matrix(2, 3), 0.3f, 2f, -1f, -0.2f, 0.1f, 5f);
        using var t = Values(TensorShape.Matrix(2, 3), 1, 0, 1, 0, 1, 1);
        var f1 = new MacroF1();
        f1.Update(z, t);
        Assert.Equal((1 + 2.0 / 3 + 2.0 / 3) / 3, f1.Result(), 12);
        f1.CheckCompatible(TargetKind.MultiHot, TensorShape.Of(3));
        Assert.Throws<ConvNetArgumentException>(() => f1.CheckCompatible(TargetKind.Values, TensorShape.Of(1, 4, 4)));
    }

    [Fact]
    public void TopKCountsTheLabelAmongTheKHighestScoresWithArgMaxTies()
    {
        // Row scores and labels: label's rank 0, 1, 2, and a tie at the top (first index wins, as in the arg-max).
        using var s = Scores(4,
            0.9f, 0.1f, 0.0f, 0.0f,   // label 0: rank 0
            0.5f, 0.7f, 0.9f, 0.1f,   // label 1: rank 1
            0.5f, 0.7f, 0.9f, 0.1f,   // label 0: rank 2
            0.8f, 0.8f, 0.1f, 0.0f);  // label 1: tied with class 0, which comes first: rank 1
        using var l = Labels(0, 1, 0, 1);
        var top1 = new TopKAccuracy(1);
        var top2 = new TopKAccuracy(2);
        top1.Update(s, l);
        top2.Update(s, l);
        Assert.Equal(0.25, top1.Result());
        Assert.Equal(0.75, top2.Result());
        Assert.Equal("top2_accuracy", top2.Name);
        Assert.Throws<ConvNetArgumentException>(() => new TopKAccuracy(5).CheckCompatible(TargetKind.ClassIndex, TensorShape.Of(4)));
    }

    [Fact]
    public void ErrorMetricsAndIouOverFloatTargets()
    {
        using var p = Values(TensorShape.Nchw(2, 1, 1, 3), 0.5f, -1f, 2f, 3f, 0f, -0.5f);
        using var t = Values(TensorShape.Nchw(2, 1, 1, 3), 1f, 0f, 1f, 1f, 0f, 0f);
        var mse = Metric.FromName("mse");
        var mae = Metric.FromName("mae");
        var iou = Metric.FromName("iou");
        foreach (var m in new[] { mse, mae, iou }) m.Update(p, t);
        Assert.Equal((0.25 + 1 + 1 + 4 + 0 + 0.25) / 6, mse.Result(), 12);
        Assert.Equal((0.5 + 1 + 1 + 2 + 0 + 0.5) / 6, mae.Result(), 12);
        // Predicted foreground (logit > 0) at 0, 2, 3; true foreground (target 1) at 0, 2, 3: IoU = 3 / 3.
        Assert.Equal(1.0, iou.Result());
        Assert.False(mse.HigherIsBetter);
        Assert.Throws<ConvNetArgumentException>(() => mse.CheckCompatible(TargetKind.ClassIndex, TensorShape.Of(10)));
        using var q = Values(TensorShape.Nchw(2, 1, 1, 3), 1f, 1f, -1f, 1f, 1f, -1f);
        var iou2 = new IntersectionOverUnion();
        iou2.Update(q, t); // predicted 0, 1, 3, 4; true 0, 2, 3: TP 2 (0, 3), FP 2 (1, 4), FN 1 (2)
        Assert.Equal(2.0 / 5, iou2.Result(), 12);
    }

    [Theory]
    [InlineData("top3_accuracy", "top3_accuracy")]
    [InlineData("f1", "f1")]
    [InlineData("iou", "iou")]
    public void NamesMakeTheirMetrics(string name, string expected) => Assert.Equal(expected, Metric.FromName(name).Name);

    [Theory]
    [InlineData("f1_score", "(did you mean 'f1'?)")]
    [InlineData("presicion", "(did you mean 'precision'?)")]
    [InlineData("acc", "(did you mean 'accuracy'?)")]
    public void UnknownNamesAreRefusedWithASuggestion(string name, string hint)
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => Metric.FromName(name));
        Assert.Contains($"Unknown metric '{name}' {hint}", e.Message);
        Assert.Contains("top<k>_accuracy", e.Message);
    }
}
