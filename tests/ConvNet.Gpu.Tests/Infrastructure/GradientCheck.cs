using System.Globalization;
using System.Text;
using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// Central-difference gradient checks (testing.md, "Gradient checks") of the objective L = sum(G ∘ y) with a fixed random G
/// (never all ones, which would hide a gradient sent to the wrong output position).
/// <list type="bullet">
/// <item><see cref="Float64"/>: PyTorch gradcheck's double defaults, h = 1e-6, pass when |a - n| &lt;= 1e-5 + 1e-3 |n|.</item>
/// <item><see cref="Float32"/>: Caffe's GradientChecker, pass when |a - n| &lt;= t * max(|a|, |n|, 1).</item>
/// </list>
/// Every element of the input is perturbed (the shapes are small); <c>skip</c> excludes points near a kink.
/// </summary>
public static class GradientCheck
{
    /// <summary>Step and threshold of a float32 check.</summary>
    public readonly record struct Settings(double Step, double Threshold)
    {
        /// <summary>Conv and dense: step 1e-2, t = 1e-3.</summary>
        public static Settings ConvDense => new(1e-2, 1e-3);
        /// <summary>Average pooling: step 1e-2, t = 1e-2.</summary>
        public static Settings AvgPool => new(1e-2, 1e-2);
        /// <summary>Max pooling: step 1e-4 so the argmax does not flip, t = 1e-2.</summary>
        public static Settings MaxPool => new(1e-4, 1e-2);
        /// <summary>Smooth point-wise ops (activations, softmax, cross-entropy): step 1e-2, t = 1e-3 (Caffe's defaults).</summary>
        public static Settings Smooth => new(1e-2, 1e-3);
        /// <summary>Strongly curved ops (batch norm over small batches, focal loss): step 1e-2, t = 1e-2.</summary>
        public static Settings Curved => new(1e-2, 1e-2);
    }

    private const int Shown = 8;

    /// <summary>sum(G ∘ y) in float64.</summary>
    public static double Objective(ReadOnlySpan<double> g, ReadOnlySpan<float> y)
    {
        if (g.Length != y.Length) throw new ArgumentException($"G has {g.Length} elements but y has {y.Length}.");
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += g[i] * y[i];
        return s;
    }

    /// <summary>sum(G ∘ y) in float64.</summary>
    public static double Objective(ReadOnlySpan<double> g, ReadOnlySpan<double> y)
    {
        if (g.Length != y.Length) throw new ArgumentException($"G has {g.Length} elements but y has {y.Length}.");
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += g[i] * y[i];
        return s;
    }

    /// <summary>
    /// Float32 check on a backend: <paramref name="forward"/> runs the op on the (perturbed) host input and returns y;
    /// <paramref name="analytic"/> is dL/dinput from the backend's backward op with dY = G.
    /// </summary>
    public static void Float32(string what, float[] input, Func<float[], float[]> forward, ReadOnlySpan<float> analytic,
        double[] g, Settings settings, TensorShape? shape = null, Func<int, bool>? skip = null)
    {
        if (analytic.Length != input.Length)
            Assert.Fail($"{what}: analytic gradient has {analytic.Length} elements, input {input.Length}.");
        var failures = new StringBuilder();
        int bad = 0, checkedCount = 0;
        double worst = 0;
        for (int i = 0; i < input.Length; i++)
        {
            if (skip?.Invoke(i) == true) continue;
            float v = input[i];
            float plus = (float)(v + settings.Step), minus = (float)(v - settings.Step);
            input[i] = plus;
            double lp = Objective(g, forward(input));
            input[i] = minus;
            double lm = Objective(g, forward(input));
            input[i] = v;
            double numeric = (lp - lm) / ((double)plus - minus); // the step actually taken in float32
            double a = analytic[i];
            double scale = Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), 1.0);
            double err = Math.Abs(a - numeric) / scale;
            worst = Math.Max(worst, err);
            checkedCount++;
            if (!(err <= settings.Threshold))
            {
                if (bad < Shown)
                    failures.Append(CultureInfo.InvariantCulture, $"\n  [{i}]{TensorAssert.Where(i, shape)} x={v:R}: analytic {a:G7}, numeric {numeric:G7}");
                bad++;
            }
        }
        Assert.True(checkedCount > 0, $"{what}: every point was skipped");
        if (bad > 0)
            Assert.Fail($"{what}: {bad} of {checkedCount} gradient entries fail |a - n| <= {settings.Threshold} * max(|a|, |n|, 1) " +
                        $"(step {settings.Step}); worst scaled error {worst:G3}:{failures}");
    }

    /// <summary>Float64 check on the reference: h = 1e-6, |a - n| &lt;= 1e-5 + 1e-3 |n| (PyTorch gradcheck).</summary>
    public static void Float64(string what, double[] input, Func<double[], double[]> forward, ReadOnlySpan<double> analytic,
        double[] g, TensorShape? shape = null, Func<int, bool>? skip = null)
    {
        const double h = 1e-6, atol = 1e-5, rtol = 1e-3;
        if (analytic.Length != input.Length)
            Assert.Fail($"{what}: analytic gradient has {analytic.Length} elements, input {input.Length}.");
        var failures = new StringBuilder();
        int bad = 0, checkedCount = 0;
        for (int i = 0; i < input.Length; i++)
        {
            if (skip?.Invoke(i) == true) continue;
            double v = input[i];
            input[i] = v + h;
            double lp = Objective(g, forward(input));
            input[i] = v - h;
            double lm = Objective(g, forward(input));
            input[i] = v;
            double numeric = (lp - lm) / (2 * h);
            checkedCount++;
            if (!(Math.Abs(analytic[i] - numeric) <= atol + rtol * Math.Abs(numeric)))
            {
                if (bad < Shown)
                    failures.Append(CultureInfo.InvariantCulture, $"\n  [{i}]{TensorAssert.Where(i, shape)} x={v:R}: analytic {analytic[i]:G10}, numeric {numeric:G10}");
                bad++;
            }
        }
        Assert.True(checkedCount > 0, $"{what}: every point was skipped");
        if (bad > 0)
            Assert.Fail($"{what}: {bad} of {checkedCount} float64 gradient entries fail |a - n| <= 1e-5 + 1e-3 |n|:{failures}");
    }
}
