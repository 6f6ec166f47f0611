using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;
using Xunit.Sdk;

namespace ConvNet.Gpu.Tests.InfrastructureTests;

/// <summary>The comparison and gradient-check helpers must be able to fail, and say where.</summary>
public sealed class TensorAssertTests
{
    private static string Fails(Action a) => Assert.ThrowsAny<XunitException>(a).Message;

    [Fact]
    public void CloseAcceptsWithinAtolPlusRtolTimesExpected()
    {
        TensorAssert.Close(new float[] { 1.0001f, -2f }, new double[] { 1.0, -2.0002 }, new Tolerance(1e-4, 1e-4));
        TensorAssert.Close(new double[] { 100.005 }, new double[] { 100 }, new Tolerance(0, 1e-4));
    }

    [Fact]
    public void CloseNeverIgnoresALengthMismatch()
    {
        var m = Fails(() => TensorAssert.Close(new float[] { 1, 2 }, new double[] { 1, 2, 3 }, new Tolerance(1, 1)));
        Assert.Contains("length mismatch", m);
        Assert.Contains("2", m);
        Assert.Contains("3", m);
    }

    [Fact]
    public void NaNNeverPasses()
    {
        Fails(() => TensorAssert.Close(new float[] { float.NaN }, new double[] { 0 }, new Tolerance(1e9, 1e9)));
        Fails(() => TensorAssert.Close(new float[] { 0 }, new double[] { double.NaN }, new Tolerance(1e9, 1e9)));
        Fails(() => TensorAssert.Close(new float[] { float.NaN }, new double[] { double.NaN }, new Tolerance(1e9, 1e9)));
        Fails(() => TensorAssert.Close(new float[] { float.PositiveInfinity }, new double[] { double.NegativeInfinity }, new Tolerance(1e9, 1e9)));
        TensorAssert.Close(new float[] { float.PositiveInfinity }, new double[] { double.PositiveInfinity }, Tolerance.Exact);
    }

    [Fact]
    public void FailureReportsCountMaxErrorsMultiIndexAndPairs()
    {
        var shape = TensorShape.Nchw(1, 2, 2, 3);
        var expected = new double[12];
        var actual = new float[12];
        actual[10] = 0.5f; // (N=0, C=1, H=1, W=1)
        actual[3] = 0.01f;
        var m = Fails(() => TensorAssert.Close(actual, expected, new Tolerance(1e-3, 0), shape, "probe"));
        Assert.StartsWith("probe: 2 of 12 elements differ", m);
        Assert.Contains("max abs err 0.5 at [10] (N=0, C=1, H=1, W=1)", m);
        Assert.Contains("[3] (N=0, C=0, H=1, W=0): actual 0.009999999776482582, expected 0", m);
    }

    [Fact]
    public void EqualIsBitwiseSoSignedZerosDiffer()
    {
        TensorAssert.Equal(new[] { 0f, -1.5f }, new[] { 0f, -1.5f });
        var m = Fails(() => TensorAssert.Equal(new[] { -0f }, new[] { 0f }));
        Assert.Contains("0x80000000", m);
        TensorAssert.Close(new[] { -0f }, new[] { 0f }, Tolerance.Exact); // numerically equal
        Fails(() => TensorAssert.Equal(new[] { 1f }, new[] { 1.0000001f }));
        Fails(() => TensorAssert.Equal(new[] { 1, 2 }, new[] { 1, 3 }));
        Assert.Throws<InvalidOperationException>(() => TensorAssert.Equal(new[] { 0.1f }, new[] { 0.1 }));
    }

    [Fact]
    public void AllWrittenCatchesPoison()
    {
        var m = Fails(() => TensorAssert.AllWritten(new[] { 1f, float.NaN }, TensorShape.Matrix(1, 2), "y"));
        Assert.Contains("[1] (rows=0, cols=1)", m);
    }

    [Fact]
    public void TensorsWithDifferentShapesFailBeforeValues()
    {
        using var b = Backend.Cpu(1);
        using var x = b.Allocate(TensorShape.Matrix(2, 3));
        using var y = b.Allocate(TensorShape.Matrix(3, 2));
        Assert.Contains("shape mismatch", Fails(() => TensorAssert.Close(x, y, new Tolerance(1, 1))));
    }

    [Fact]
    public void GradientCheckCatchesAGradientSentToTheWrongPosition()
    {
        // y = (x0, 2 x1); the true gradient of sum(G y) is (G0, 2 G1). Swapping the entries must fail with a random G.
        var rng = new TestRng();
        var g = new double[] { rng.Next(0.5f, 1f), -rng.Next(0.5f, 1f) };
        float[] F(float[] x) => [x[0], 2 * x[1]];
        var x = new[] { 0.3f, -0.7f };
        GradientCheck.Float32("true gradient", x, F, new[] { (float)g[0], (float)(2 * g[1]) }, g, GradientCheck.Settings.ConvDense);
        Fails(() => GradientCheck.Float32("swapped", x, F, new[] { (float)(2 * g[1]), (float)g[0] }, g, GradientCheck.Settings.ConvDense));
        var xd = new[] { 0.3, -0.7 };
        double[] Fd(double[] v) => [v[0], 2 * v[1]];
        GradientCheck.Float64("true gradient", xd, Fd, new[] { g[0], 2 * g[1] }, g);
        // 1e-2 is far outside 1e-5 + 1e-3*|n| for |n| <= 1 (an offset of 1e-3 would pass when g0 is close to 1).
        Fails(() => GradientCheck.Float64("off by 1e-2", xd, Fd, new[] { g[0] + 1e-2, 2 * g[1] }, g));
    }

    [Fact]
    public void SeedsDifferPerInstanceAndValuesAreNeverZero()
    {
        var a = new TestRng();
        var b = new TestRng();
        Assert.NotEqual(a.Seed, b.Seed);
        Assert.DoesNotContain(0f, a.Uniform(10_000, -1e-3f, 1e-3f));
        Assert.Equal(new TestRng(5).Uniform(8), new TestRng(5).Uniform(8));
        Assert.All(a.AwayFromZero(1000, 0.01f), v => Assert.True(Math.Abs(v) >= 0.01f));
        var d = a.DistinctValues(50);
        Assert.Equal(50, d.Distinct().Count());
    }
}
