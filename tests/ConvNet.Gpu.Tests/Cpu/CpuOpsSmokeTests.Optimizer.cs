using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    private const int OptimizerSteps = 5;

    [Theory]
    [InlineData(1000, 0f, 0f, false)]
    [InlineData(1000, 0.9f, 0f, false)]
    [InlineData(1003, 0.9f, 5e-4f, true)]
    [InlineData(100_003, 0.5f, 1e-2f, false)]
    public void SgdMatchesReference(int n, float momentum, float wd, bool nesterov)
    {
        const float lr = 0.05f;
        var rng = new Random(n);
        var p0 = SmokeCheck.Random(rng, n);
        var grads = Enumerable.Range(0, OptimizerSteps).Select(_ => SmokeCheck.Random(rng, n)).ToArray();
        var p = SmokeCheck.ToDouble(p0);
        var v = new double[n];
        foreach (var grad in grads)
            for (int i = 0; i < n; i++)
            {
                double g = grad[i] + wd * p[i];
                if (momentum == 0) { p[i] -= lr * g; continue; }
                v[i] = momentum * v[i] + g;
                p[i] -= lr * (nesterov ? g + momentum * v[i] : v[i]);
            }
        var shape = TensorShape.Vector(n);
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tp = SmokeCheck.Upload(b, shape, p0);
            using var tg = b.Allocate(shape);
            using var tv = momentum == 0 ? SmokeCheck.Poisoned(b, shape) : b.Allocate(shape);
            foreach (var grad in grads)
            {
                tg.Upload(grad);
                b.SgdStep(tp, tg, tv, lr, momentum, wd, nesterov);
            }
            SmokeCheck.Close(tp.ToArray(), p, 1e-6, 1e-5, "sgd param");
            if (momentum == 0) Assert.All(tv.ToArray(), x => Assert.True(float.IsNaN(x))); // velocity untouched
            else SmokeCheck.Close(tv.ToArray(), v, 1e-5, 1e-5, "sgd velocity");
        }
    }

    [Theory]
    [InlineData(1000, 0f, false)]
    [InlineData(1001, 1e-2f, false)]
    [InlineData(1002, 1e-2f, true)]
    [InlineData(100_003, 0.1f, true)]
    public void AdamMatchesReference(int n, float wd, bool decoupled)
    {
        const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var rng = new Random(n);
        var p0 = SmokeCheck.Random(rng, n);
        var grads = Enumerable.Range(0, OptimizerSteps).Select(_ => SmokeCheck.Random(rng, n)).ToArray();
        grads[0][0] = 0f; // v = 0 at the first step: the update must stay finite
        var p = SmokeCheck.ToDouble(p0);
        var m = new double[n];
        var v = new double[n];
        for (int t = 1; t <= OptimizerSteps; t++)
            for (int i = 0; i < n; i++)
            {
                double g = grads[t - 1][i];
                if (decoupled) p[i] *= 1 - (double)lr * wd; else g += wd * p[i];
                m[i] = b1 * m[i] + (1 - (double)b1) * g;
                v[i] = b2 * v[i] + (1 - (double)b2) * g * g;
                p[i] -= lr * (m[i] / (1 - Math.Pow(b1, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }
        var shape = TensorShape.Vector(n);
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tp = SmokeCheck.Upload(b, shape, p0);
            using var tg = b.Allocate(shape);
            using var tm = b.Allocate(shape);
            using var tv = b.Allocate(shape);
            for (int t = 1; t <= OptimizerSteps; t++)
            {
                tg.Upload(grads[t - 1]);
                b.AdamStep(tp, tg, tm, tv, lr, b1, b2, eps, wd, decoupled, t);
            }
            SmokeCheck.Close(tp.ToArray(), p, 1e-6, 1e-5, "adam param");
            SmokeCheck.Close(tm.ToArray(), m, 1e-6, 1e-5, "adam m");
            SmokeCheck.Close(tv.ToArray(), v, 1e-7, 1e-5, "adam v");
        }
    }
}
