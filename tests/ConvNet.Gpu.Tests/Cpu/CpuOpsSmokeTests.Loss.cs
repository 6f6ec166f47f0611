using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    /// <summary>Float64 softmax of one row plus log(p_t) and q = 1 - p_t computed without cancellation.</summary>
    private static (double[] P, double LogPt, double Q) SoftmaxRef(ReadOnlySpan<float> x, int label)
    {
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        var e = new double[x.Length];
        double s = 0, others = 0;
        for (int j = 0; j < x.Length; j++) { e[j] = Math.Exp(x[j] - max); s += e[j]; if (j != label) others += e[j]; }
        for (int j = 0; j < x.Length; j++) e[j] /= s;
        double logPt = label >= 0 && label < x.Length ? x[label] - max - Math.Log(s) : double.NaN;
        return (e, logPt, others / s);
    }

    private static double FocalRef(ReadOnlySpan<float> x, int label, double gamma)
    {
        var (_, logPt, q) = SoftmaxRef(x, label);
        return -Math.Pow(q, gamma) * logPt;
    }

    /// <summary>dL/dz_j = dL/dp_t * p_t * (delta_jt - p_j) with dL/dp_t = gamma q^(gamma-1) log p_t - q^gamma / p_t.</summary>
    private static double[] FocalGradRef(ReadOnlySpan<float> x, int label, double gamma)
    {
        var (p, logPt, q) = SoftmaxRef(x, label);
        double pt = p[label];
        double g = (gamma == 0 ? 0 : gamma * Math.Pow(q, gamma - 1) * pt * logPt) - Math.Pow(q, gamma);
        return p.Select((pj, j) => g * ((j == label ? 1 : 0) - pj)).ToArray();
    }

    private static (float[] Logits, int[] Labels) LossInputs(int rows, int k, int seed)
    {
        var rng = new Random(seed);
        var x = SmokeCheck.Random(rng, (long)rows * k, -4f, 4f);
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(k)).ToArray();
        if (rows >= 4)
        {
            // Row 0: the target dominates (p_t -> 1); row 1: the target is hopeless (p_t -> 0); row 2: huge offsets.
            for (int j = 0; j < k; j++) { x[j] = 0f; x[k + j] = 0f; x[2 * k + j] += 1000f; }
            x[labels[0]] = 40f;
            x[k + labels[1]] = -40f;
        }
        return (x, labels);
    }

    [Theory]
    [InlineData(4, 10)]
    [InlineData(5000, 10)]
    [InlineData(7, 1000)]
    [InlineData(3, 1)]
    public void SoftmaxAndCrossEntropyMatchReference(int rows, int k)
    {
        var (x, labels) = LossInputs(rows, k, rows * k);
        var dy = SmokeCheck.Random(new Random(1), (long)rows * k);
        const float scale = 0.25f;
        var refP = new double[x.Length];
        var refLoss = new double[rows];
        var refGrad = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * k, k);
            var (p, logPt, _) = SoftmaxRef(row, labels[r]);
            p.CopyTo(refP, r * k);
            refLoss[r] = -logPt;
            for (int j = 0; j < k; j++) refGrad[r * k + j] = scale * (p[j] - (j == labels[r] ? 1 : 0));
        }

        var shape = TensorShape.Matrix(rows, k);
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var tl = b.Allocate(TensorShape.Vector(rows), DataType.Int32);
            tl.Upload(labels);
            using var tp = SmokeCheck.Poisoned(b, shape);
            using var tloss = SmokeCheck.Poisoned(b, TensorShape.Vector(rows));
            b.SoftmaxCrossEntropyForward(tx, tl, tp, tloss);
            var p = tp.ToArray();
            SmokeCheck.Close(p, refP, 1e-7, 1e-5, "CE probabilities");
            SmokeCheck.Close(tloss.ToArray(), refLoss, 1e-5, 1e-5, "CE loss");

            using var ty = SmokeCheck.Poisoned(b, shape);
            b.SoftmaxForward(tx, ty);
            Assert.Equal(p, ty.ToArray());

            using var tg = SmokeCheck.Poisoned(b, shape);
            b.SoftmaxCrossEntropyBackward(tp, tl, tg, scale);
            SmokeCheck.Close(tg.ToArray(), refGrad, 1e-7, 1e-5, "CE gradient");
            b.SoftmaxCrossEntropyBackward(tp, tl, tp, scale); // in place over the probabilities
            SmokeCheck.Close(tp.ToArray(), refGrad, 1e-7, 1e-5, "CE gradient in place");
            b.SoftmaxCrossEntropyForward(tx, tl, tp, tloss);

            // Softmax backward from the backend's own probabilities: dx = y * (dy - sum(dy * y)).
            var refDx = new double[x.Length];
            for (int r = 0; r < rows; r++)
            {
                double dot = 0;
                for (int j = 0; j < k; j++) dot += (double)dy[r * k + j] * p[r * k + j];
                for (int j = 0; j < k; j++) refDx[r * k + j] = p[r * k + j] * (dy[r * k + j] - dot);
            }
            using var tdy = SmokeCheck.Upload(b, shape, dy);
            using var tdx = SmokeCheck.Poisoned(b, shape);
            b.SoftmaxBackward(ty, tdy, tdx);
            SmokeCheck.Close(tdx.ToArray(), refDx, 1e-6, 1e-5, "softmax dx");
            b.SoftmaxBackward(ty, tdy, ty); // dx overwrites y in place
            SmokeCheck.Close(ty.ToArray(), refDx, 1e-6, 1e-5, "softmax dx in place");
        }
    }

    [Theory]
    [InlineData(6, 10, 0f)]
    [InlineData(6, 10, 0.5f)]
    [InlineData(6, 10, 2f)]
    [InlineData(4000, 10, 2f)]
    [InlineData(5, 300, 5f)]
    public void FocalLossMatchesReference(int rows, int k, float gamma)
    {
        var (x, labels) = LossInputs(rows, k, rows + k);
        const float scale = 0.5f;
        var refP = new double[x.Length];
        var refLoss = new double[rows];
        var refGrad = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * k, k);
            SoftmaxRef(row, labels[r]).P.CopyTo(refP, r * k);
            refLoss[r] = FocalRef(row, labels[r], gamma);
            var g = FocalGradRef(row, labels[r], gamma);
            for (int j = 0; j < k; j++) refGrad[r * k + j] = scale * g[j];
        }
        // The analytic reference itself against central differences of the float64 loss, on ordinary rows.
        for (int r = 3; r < Math.Min(rows, 6); r++)
        {
            var row = x.AsSpan(r * k, k).ToArray();
            var g = FocalGradRef(row, labels[r], gamma);
            for (int j = 0; j < Math.Min(k, 12); j++)
            {
                const float h = 1e-2f;
                float keep = row[j];
                row[j] = keep + h; double up = FocalRef(row, labels[r], gamma);
                row[j] = keep - h; double down = FocalRef(row, labels[r], gamma);
                row[j] = keep;
                double numeric = (up - down) / ((double)(keep + h) - (keep - h));
                Assert.True(Math.Abs(numeric - g[j]) <= 1e-4 + 1e-3 * Math.Abs(numeric), $"focal FD row {r} j {j}: {numeric} vs {g[j]}");
            }
        }

        var shape = TensorShape.Matrix(rows, k);
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var tl = b.Allocate(TensorShape.Vector(rows), DataType.Int32);
            tl.Upload(labels);
            using var tp = SmokeCheck.Poisoned(b, shape);
            using var tloss = SmokeCheck.Poisoned(b, TensorShape.Vector(rows));
            b.FocalLossForward(tx, tl, gamma, tp, tloss);
            SmokeCheck.Close(tp.ToArray(), refP, 1e-7, 1e-5, "focal probabilities");
            SmokeCheck.Close(tloss.ToArray(), refLoss, 1e-6, 1e-5, "focal loss");

            using var tg = SmokeCheck.Poisoned(b, shape);
            b.FocalLossBackward(tp, tl, gamma, tg, scale);
            SmokeCheck.Close(tg.ToArray(), refGrad, 1e-7, 1e-4, "focal gradient");
            var fromSeparate = tg.ToArray();
            b.FocalLossBackward(tp, tl, gamma, tp, scale); // in place over the probabilities
            Assert.Equal(fromSeparate, tp.ToArray());
            b.FocalLossForward(tx, tl, gamma, tp, tloss);

            if (gamma == 0f)
            {
                using var tce = SmokeCheck.Poisoned(b, TensorShape.Vector(rows));
                b.SoftmaxCrossEntropyForward(tx, tl, tp, tce);
                SmokeCheck.Close(tloss.ToArray(), SmokeCheck.ToDouble(tce.ToArray()), 1e-6, 1e-6, "focal(gamma=0) vs CE");
            }
        }
    }

    [Fact]
    public void OutOfRangeLabelsGiveNaNRowsOnly()
    {
        using var b = Backend.Cpu(1);
        const int rows = 3, k = 4;
        var x = SmokeCheck.Random(new Random(5), rows * k);
        using var tx = SmokeCheck.Upload(b, TensorShape.Matrix(rows, k), x);
        using var tl = b.Allocate(TensorShape.Vector(rows), DataType.Int32);
        tl.Upload([-1, 2, k]);
        using var tp = SmokeCheck.Poisoned(b, TensorShape.Matrix(rows, k));
        using var tloss = SmokeCheck.Poisoned(b, TensorShape.Vector(rows));
        using var tg = SmokeCheck.Poisoned(b, TensorShape.Matrix(rows, k));
        foreach (bool focal in new[] { false, true })
        {
            if (focal) b.FocalLossForward(tx, tl, 2f, tp, tloss); else b.SoftmaxCrossEntropyForward(tx, tl, tp, tloss);
            var loss = tloss.ToArray();
            Assert.True(float.IsNaN(loss[0]) && float.IsNaN(loss[2]));
            Assert.True(float.IsFinite(loss[1]) && loss[1] > 0);
            Assert.All(tp.ToArray(), v => Assert.True(float.IsFinite(v)));
            if (focal) b.FocalLossBackward(tp, tl, 2f, tg, 1f); else b.SoftmaxCrossEntropyBackward(tp, tl, tg, 1f);
            var g = tg.ToArray();
            Assert.All(g[..k], v => Assert.True(float.IsNaN(v)));
            Assert.All(g[k..(2 * k)], v => Assert.True(float.IsFinite(v)));
            Assert.All(g[(2 * k)..], v => Assert.True(float.IsNaN(v)));
        }
    }
}
