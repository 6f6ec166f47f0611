using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Tests.Cuda;
using Xunit;

namespace ConvNet.Gpu.Tests.Losses;

/// <summary>
/// L1 and Huber losses on one backend against float64 references of the value and the gradient (PyTorch's
/// definitions, mean over every element), with the corner cases: exact zeros (sign 0), both sides of delta, targets
/// of another shape with the same element count.
/// </summary>
public abstract class ElementwiseLossSuite(IBackend backend) : IDisposable
{
    private readonly IBackend _b = backend;

    public void Dispose()
    {
        _b.Dispose();
        GC.SuppressFinalize(this);
    }

    private Tensor Upload(TensorShape shape, float[] values)
    {
        var t = _b.Allocate(shape);
        t.Upload(values);
        return t;
    }

    // Predictions and targets whose differences cover small and large values, and some exact zeros.
    private static (float[] P, float[] T) Pairs(int count, ulong seed)
    {
        var r = new HostRandom(seed);
        var p = new float[count];
        var t = new float[count];
        for (int i = 0; i < count; i++)
        {
            p[i] = r.NextUniform(-3f, 3f);
            t[i] = i % 7 == 0 ? p[i] : r.NextUniform(-3f, 3f);
        }
        return (p, t);
    }

    private void Check(Loss loss, Func<double, double> value, Func<double, double> derivative, ulong seed)
    {
        var (p, t) = Pairs(2 * 3 * 4 * 5, seed);
        using var predictions = Upload(TensorShape.Nchw(2, 3, 4, 5), p);
        using var targets = Upload(TensorShape.Matrix(2, 60), t); // same element count, another shape
        float actual = loss.Forward(predictions, targets);
        double expected = 0;
        for (int i = 0; i < p.Length; i++) expected += value((double)p[i] - t[i]);
        expected /= p.Length;
        Assert.True(Math.Abs(actual - expected) <= 1e-6 + 1e-5 * Math.Abs(expected), $"{loss.Name}: {actual}, expected {expected}");
        var g = loss.Backward();
        Assert.True(g.Shape.SameDimensions(predictions.Shape));
        var grad = g.ToArray();
        for (int i = 0; i < p.Length; i++)
        {
            double e = derivative((double)p[i] - t[i]) / p.Length;
            Assert.True(Math.Abs(grad[i] - e) <= 1e-7 + 1e-5 * Math.Abs(e), $"{loss.Name} d/dp[{i}] (d = {p[i] - t[i]}): {grad[i]}, expected {e}");
        }
    }

    [Fact]
    public void L1IsTheMeanAbsoluteErrorWithSignGradient() =>
        Check(new L1Loss(), d => Math.Abs(d), d => Math.Sign(d), 1);

    [Theory]
    [InlineData(1.0f)]
    [InlineData(0.5f)]
    [InlineData(2.5f)]
    public void HuberIsQuadraticInsideDeltaAndLinearOutside(float delta) =>
        Check(new HuberLoss(delta), d => Math.Abs(d) <= delta ? 0.5 * d * d : delta * (Math.Abs(d) - 0.5 * delta),
            d => Math.Clamp(d, -delta, delta), 2);

    [Fact]
    public void HuberEqualsHalfMseForSmallErrorsAndFailsOnBadTargets()
    {
        using var p = Upload(TensorShape.Matrix(2, 2), [0.1f, -0.2f, 0.3f, 0f]);
        using var t = Upload(TensorShape.Matrix(2, 2), [0f, 0f, 0f, 0f]);
        using var huber = new HuberLoss();
        using var mse = new MeanSquaredErrorLoss();
        Assert.Equal(mse.Forward(p, t) / 2, huber.Forward(p, t), 6);
        using var wrong = Upload(TensorShape.Vector(3), [0f, 0f, 0f]);
        Assert.Contains("4 elements", Assert.Throws<ShapeMismatchException>(() => huber.Forward(p, wrong)).Message);
        Assert.Throws<ConvNetArgumentException>(() => new HuberLoss(0f));
        Assert.Throws<InvalidOperationException>(() => new L1Loss().Backward());
    }
}

/// <summary>L1 and Huber on the CPU.</summary>
public sealed class ElementwiseLosses_Cpu() : ElementwiseLossSuite(Backend.Cpu(2));

/// <summary>L1 and Huber on CUDA (emulated).</summary>
public sealed class ElementwiseLosses_CudaEmulated() : ElementwiseLossSuite(CudaTestBackends.CreateEmulated());
