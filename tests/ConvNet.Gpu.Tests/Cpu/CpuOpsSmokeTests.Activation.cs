using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    private static double ActRef(ActivationKind k, double a, double x) => k switch
    {
        ActivationKind.ReLU => Math.Max(x, 0),
        ActivationKind.LeakyReLU => x > 0 ? x : a * x,
        ActivationKind.ELU => x > 0 ? x : a * (Math.Exp(x) - 1),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    private static double ActGradRef(ActivationKind k, double a, double x) => k switch
    {
        ActivationKind.ReLU => x > 0 ? 1 : 0,
        ActivationKind.LeakyReLU => x > 0 ? 1 : a,
        ActivationKind.ELU => x > 0 ? 1 : a * Math.Exp(x),
        ActivationKind.Sigmoid => ActRef(k, a, x) * (1 - ActRef(k, a, x)),
        ActivationKind.Tanh => 1 - Math.Tanh(x) * Math.Tanh(x),
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    [Theory]
    [InlineData(ActivationKind.ReLU, 0f, 1000)]
    [InlineData(ActivationKind.ReLU, 0f, 100_003)]
    [InlineData(ActivationKind.LeakyReLU, 0.1f, 1001)]
    [InlineData(ActivationKind.LeakyReLU, 0.01f, 100_003)]
    [InlineData(ActivationKind.ELU, 1f, 1003)]
    [InlineData(ActivationKind.ELU, 0.7f, 100_003)]
    [InlineData(ActivationKind.Sigmoid, 0f, 1005)]
    [InlineData(ActivationKind.Sigmoid, 0f, 100_003)]
    [InlineData(ActivationKind.Tanh, 0f, 1007)]
    [InlineData(ActivationKind.Tanh, 0f, 100_003)]
    public void ActivationsMatchReference(ActivationKind kind, float alpha, int n)
    {
        var rng = new Random(n + (int)kind);
        var x = SmokeCheck.Random(rng, n, -6f, 6f);
        for (int i = 0; i < 20; i++) x[i] = (i - 10) * 1e-4f; // small magnitudes: ELU's exp(x) - 1 must stay accurate
        var dy = SmokeCheck.Random(rng, n);
        var refY = x.Select(v => ActRef(kind, alpha, v)).ToArray();
        var refDx = x.Select((v, i) => ActGradRef(kind, alpha, v) * dy[i]).ToArray();
        var shape = TensorShape.Vector(n);
        float[]? first = null;
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var ty = SmokeCheck.Poisoned(b, shape);
            b.ActivationForward(kind, alpha, tx, ty);
            var y = ty.ToArray();
            SmokeCheck.Close(y, refY, 1e-6, 2e-6, $"{kind} y");
            using var tdy = SmokeCheck.Upload(b, shape, dy);
            using var tdx = SmokeCheck.Poisoned(b, shape);
            b.ActivationBackward(kind, alpha, tx, ty, tdy, tdx);
            var dx = tdx.ToArray();
            SmokeCheck.Close(dx, refDx, 1e-6, 1e-5, $"{kind} dx");
            float[] both = [.. y, .. dx];
            if (first is null) first = both; else Assert.Equal(first, both);

            // In place: y overwrites x, then dx overwrites dy; the results must not change.
            b.ActivationForward(kind, alpha, tx, tx);
            Assert.Equal(y, tx.ToArray());
            b.ActivationBackward(kind, alpha, tx, tx, tdy, tdy);
            Assert.Equal(dx, tdy.ToArray());
        }
    }
}
