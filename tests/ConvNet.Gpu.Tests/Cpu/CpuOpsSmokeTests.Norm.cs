using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    /// <summary>Float64 training-mode batch norm over (N, C, rest): y, mean and biased variance per channel.</summary>
    private static (double[] Y, double[] Mean, double[] Var) BatchNormRef(double[] x, int n, int c, int rest, double[] gamma, double[] beta, double eps)
    {
        var mean = new double[c];
        var variance = new double[c];
        var y = new double[x.Length];
        double m = (double)n * rest;
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < rest; i++) s += x[(b * c + ch) * rest + i];
            mean[ch] = s / m;
            double v = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < rest; i++) v += Math.Pow(x[(b * c + ch) * rest + i] - mean[ch], 2);
            variance[ch] = v / m;
            double inv = 1 / Math.Sqrt(variance[ch] + eps);
            for (int b = 0; b < n; b++)
                for (int i = 0; i < rest; i++)
                {
                    int k = (b * c + ch) * rest + i;
                    y[k] = (x[k] - mean[ch]) * inv * gamma[ch] + beta[ch];
                }
        }
        return (y, mean, variance);
    }

    public static TheoryData<int[], float> NormCases => new()
    {
        { new[] { 4, 3, 5, 5 }, 0f },
        { new[] { 2, 16, 32, 32 }, 0f },
        { new[] { 64, 10 }, 0f },
        { new[] { 4, 6, 7 }, 0f },
        { new[] { 3, 2, 9, 9 }, 100f },
        { new[] { 1, 4, 1, 1 }, 0f },
    };

    [Theory]
    [MemberData(nameof(NormCases))]
    public void BatchNormMatchesReference(int[] dims, float offset)
    {
        var shape = TensorShape.Of(dims);
        int n = dims[0], c = dims[1];
        int rest = (int)(shape.ElementCount / ((long)n * c));
        const float eps = 1e-5f, momentum = 0.1f;
        var rng = new Random(dims.Sum());
        var x = SmokeCheck.Random(rng, shape.ElementCount).Select(v => v + offset).ToArray();
        var dy = SmokeCheck.Random(rng, shape.ElementCount);
        var gamma = SmokeCheck.Random(rng, c, 0.5f, 1.5f);
        var beta = SmokeCheck.Random(rng, c);
        var rm0 = SmokeCheck.Random(rng, c);
        var rv0 = SmokeCheck.Random(rng, c, 0.5f, 2f);
        var gd = SmokeCheck.ToDouble(gamma);
        var bd = SmokeCheck.ToDouble(beta);
        var xd = SmokeCheck.ToDouble(x);
        var (refY, mean, variance) = BatchNormRef(xd, n, c, rest, gd, bd, eps);
        double m = (double)n * rest;
        var refInv = variance.Select(v => 1 / Math.Sqrt(v + eps)).ToArray();
        var refRm = mean.Select((mu, ch) => momentum * mu + (1 - momentum) * (double)rm0[ch]).ToArray();
        var refRv = variance.Select((v, ch) => momentum * (m > 1 ? v * m / (m - 1) : v) + (1 - momentum) * (double)rv0[ch]).ToArray();

        // Backward: dx = invstd/M * (M*dy*gamma - sum(dy*gamma) - xhat*sum(dy*gamma*xhat)); dgamma = sum(dy*xhat); dbeta = sum(dy).
        var refDx = new double[x.Length];
        var refDg = new double[c];
        var refDb = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sdg = 0, sdgx = 0;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < rest; i++)
                {
                    int k = (b * c + ch) * rest + i;
                    double xh = (xd[k] - mean[ch]) * refInv[ch];
                    refDb[ch] += dy[k];
                    refDg[ch] += dy[k] * xh;
                    sdg += dy[k] * gd[ch];
                    sdgx += dy[k] * gd[ch] * xh;
                }
            for (int b = 0; b < n; b++)
                for (int i = 0; i < rest; i++)
                {
                    int k = (b * c + ch) * rest + i;
                    double xh = (xd[k] - mean[ch]) * refInv[ch];
                    refDx[k] = refInv[ch] / m * (m * dy[k] * gd[ch] - sdg - xh * sdgx);
                }
        }
        if (shape.ElementCount <= 200 && m > 1)
        {
            // The reference gradient itself against central differences of L = sum(dy * y).
            for (int k = 0; k < x.Length; k += 7)
            {
                const double h = 1e-6;
                double keep = xd[k];
                xd[k] = keep + h; double up = BatchNormRef(xd, n, c, rest, gd, bd, eps).Y.Select((v, i) => v * dy[i]).Sum();
                xd[k] = keep - h; double down = BatchNormRef(xd, n, c, rest, gd, bd, eps).Y.Select((v, i) => v * dy[i]).Sum();
                xd[k] = keep;
                double numeric = (up - down) / (2 * h);
                Assert.True(Math.Abs(numeric - refDx[k]) <= 1e-5 + 1e-3 * Math.Abs(numeric), $"BN FD {k}: {numeric} vs {refDx[k]}");
            }
        }

        var cs = TensorShape.Vector(c);
        float[]? first = null;
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var tg = SmokeCheck.Upload(b, cs, gamma);
            using var tb = SmokeCheck.Upload(b, cs, beta);
            using var trm = SmokeCheck.Upload(b, cs, rm0);
            using var trv = SmokeCheck.Upload(b, cs, rv0);
            using var ty = SmokeCheck.Poisoned(b, shape);
            using var tMean = SmokeCheck.Poisoned(b, cs);
            using var tInv = SmokeCheck.Poisoned(b, cs);
            b.BatchNorm2dForwardTraining(tx, tg, tb, ty, tMean, tInv, trm, trv, momentum, eps);
            var y = ty.ToArray();
            SmokeCheck.Close(y, refY, 2e-5, 1e-5, "BN y");
            SmokeCheck.Close(tMean.ToArray(), mean, 1e-6, 1e-6, "BN mean");
            SmokeCheck.Close(tInv.ToArray(), refInv, 1e-6, 1e-5, "BN invstd");
            SmokeCheck.Close(trm.ToArray(), refRm, 1e-6, 1e-6, "BN running mean");
            SmokeCheck.Close(trv.ToArray(), refRv, 1e-6, 1e-6, "BN running var");

            using var tdy = SmokeCheck.Upload(b, shape, dy);
            using var tdx = SmokeCheck.Poisoned(b, shape);
            using var tdg = SmokeCheck.Poisoned(b, cs);
            using var tdb = SmokeCheck.Poisoned(b, cs);
            b.BatchNorm2dBackward(tx, tdy, tg, tMean, tInv, tdx, tdg, tdb, accumulate: false);
            var dx = tdx.ToArray();
            SmokeCheck.Close(dx, refDx, 2e-5, 1e-4, "BN dx");
            SmokeCheck.Close(tdg.ToArray(), refDg, 1e-4, 1e-5, "BN dgamma");
            SmokeCheck.Close(tdb.ToArray(), refDb, 1e-4, 1e-5, "BN dbeta");
            b.BatchNorm2dBackward(tx, tdy, tg, tMean, tInv, tdy, tdg, tdb, accumulate: true); // dx aliases dy
            Assert.Equal(dx, tdy.ToArray());
            SmokeCheck.Close(tdg.ToArray(), refDg.Select(v => 2 * v).ToArray(), 2e-4, 1e-5, "BN dgamma accumulated");
            SmokeCheck.Close(tdb.ToArray(), refDb.Select(v => 2 * v).ToArray(), 2e-4, 1e-5, "BN dbeta accumulated");

            // Inference with the running statistics the training step left behind.
            var rm = trm.ToArray();
            var rv = trv.ToArray();
            var refInf = x.Select((v, k) =>
            {
                int ch = k / rest % c;
                return (v - (double)rm[ch]) / Math.Sqrt(rv[ch] + (double)eps) * gamma[ch] + beta[ch];
            }).ToArray();
            b.Fill(ty, float.NaN);
            b.BatchNorm2dForwardInference(tx, tg, tb, trm, trv, eps, ty);
            SmokeCheck.Close(ty.ToArray(), refInf, 2e-5, 1e-5, "BN inference y");
            float[] all = [.. y, .. dx];
            if (first is null) first = all; else Assert.Equal(first, all);
        }
    }
}
