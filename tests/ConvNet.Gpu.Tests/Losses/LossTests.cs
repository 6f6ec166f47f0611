using ConvNet.Gpu.Losses;
using Xunit;

namespace ConvNet.Gpu.Tests.Losses;

/// <summary>Losses against values computed by hand (and printed with Python's math module), plus finite differences.</summary>
public sealed class LossTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);

    public void Dispose() => _b.Dispose();

    private Tensor Logits(float[] values, int rows) { var t = _b.Allocate(TensorShape.Matrix(rows, values.Length / rows)); t.Upload(values); return t; }

    private Tensor Labels(int[] values) { var t = _b.Allocate(TensorShape.Vector(values.Length), DataType.Int32); t.Upload(values); return t; }

    [Fact]
    public void SoftmaxCrossEntropyMatchesHandValues()
    {
        using var logits = Logits([1, 2, 3, 1, 1, 1], 2);
        using var labels = Labels([2, 0]);
        using var loss = new SoftmaxCrossEntropyLoss();
        // Row 0: ln(e + e^2 + e^3) - 3 = 0.40760596; row 1: ln 3 = 1.09861229; mean 0.75310913.
        Assert.Equal(0.75310913f, loss.Forward(logits, labels), 6);
        Assert.Equal(0.40760596f, loss.SampleLosses[0], 6);
        Assert.Equal(1.09861229f, loss.SampleLosses[1], 6);
        // Gradient of the mean: (softmax - onehot) / N.
        double s = Math.E + Math.E * Math.E + Math.Exp(3);
        double[] expected = [Math.E / s / 2, Math.E * Math.E / s / 2, (Math.Exp(3) / s - 1) / 2, 1.0 / 6, 1.0 / 6, (1.0 / 3 - 1) / 2];
        expected[3] = (1.0 / 3 - 1) / 2; expected[5] = 1.0 / 6;
        var g = loss.Backward().ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], g[i], 6);
    }

    [Fact]
    public void FocalLossMatchesHandValuesAndFiniteDifferences()
    {
        float[] z = [1, 2, 3, 1, 1, 1];
        using var logits = Logits(z, 2);
        using var labels = Labels([2, 0]);
        using var loss = new FocalLoss(gamma: 2f);
        // Row 0: p = 0.66524096, -(1-p)^2 ln p = 0.04567780; row 1: p = 1/3, 0.48827213.
        Assert.Equal((0.04567780f + 0.48827213f) / 2, loss.Forward(logits, labels), 6);
        var g = loss.Backward().ToArray();
        const float h = 1e-2f;
        for (int i = 0; i < z.Length; i++)
        {
            var zp = (float[])z.Clone(); zp[i] += h; logits.Upload(zp); double plus = loss.Forward(logits, labels);
            var zm = (float[])z.Clone(); zm[i] -= h; logits.Upload(zm); double minus = loss.Forward(logits, labels);
            Assert.True(Math.Abs(g[i] - (plus - minus) / (2 * h)) < 1e-3, $"focal d/dz[{i}]: analytic {g[i]}, numeric {(plus - minus) / (2 * h)}");
        }
    }

    [Fact]
    public void FocalWithGammaZeroIsCrossEntropy()
    {
        using var logits = Logits([0.3f, -1.2f, 2.0f, 0.5f, 0.1f, -0.4f], 2);
        using var labels = Labels([1, 2]);
        using var focal = new FocalLoss(0f);
        using var ce = new SoftmaxCrossEntropyLoss();
        Assert.Equal(ce.Forward(logits, labels), focal.Forward(logits, labels), 6);
    }

    [Fact]
    public void MeanSquaredErrorMatchesHandValues()
    {
        using var pred = _b.Allocate(TensorShape.Matrix(2, 2)); pred.Upload([1f, 2f, 3f, 4f]);
        using var target = _b.Allocate(TensorShape.Matrix(2, 2)); target.Upload([0f, 2f, 5f, 3f]);
        using var loss = new MeanSquaredErrorLoss();
        Assert.Equal(1.5f, loss.Forward(pred, target));            // (1 + 0 + 4 + 1) / 4
        Assert.Equal([0.5f, 0f, -1f, 0.5f], loss.Backward().ToArray()); // 2 * diff / 4
    }

    [Fact]
    public void WrongLabelsAreRejectedWithShapes()
    {
        using var logits = Logits([1, 2, 3, 4], 2);
        using var labels = Labels([0, 1, 1]);
        using var loss = new SoftmaxCrossEntropyLoss();
        var e = Assert.Throws<ShapeMismatchException>(() => loss.Forward(logits, labels));
        Assert.Contains("(rows=2, cols=2)", e.Message, StringComparison.Ordinal);
    }
}
