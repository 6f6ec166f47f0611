using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>Small helpers for the CPU op smoke tests: random inputs, NaN-poisoned outputs, float64 comparisons.</summary>
internal static class SmokeCheck
{
    public static float[] Random(Random rng, long count, float lo = -2f, float hi = 2f)
    {
        var a = new float[count];
        for (long i = 0; i < count; i++) a[i] = lo + (hi - lo) * rng.NextSingle();
        return a;
    }

    public static Tensor Upload(IBackend b, TensorShape shape, float[] data)
    {
        var t = b.Allocate(shape);
        t.Upload(data);
        return t;
    }

    /// <summary>An output tensor filled with NaN, so an element the op forgets to write fails the comparison.</summary>
    public static Tensor Poisoned(IBackend b, TensorShape shape, DataType type = DataType.Float32)
    {
        var t = b.Allocate(shape, type);
        if (type == DataType.Float32) b.Fill(t, float.NaN);
        else t.Upload(Enumerable.Repeat(int.MinValue, (int)shape.ElementCount).ToArray());
        return t;
    }

    /// <summary>|a - e| &lt;= atol + rtol*|e| element-wise; NaN never passes; reports the worst element.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int bad = -1;
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double excess = err - (atol + rtol * Math.Abs(expected[i]));
            if (double.IsNaN(err) || excess > 0)
            {
                if (bad < 0 || double.IsNaN(err) || excess > worst) { bad = i; worst = double.IsNaN(err) ? double.PositiveInfinity : excess; }
            }
        }
        if (bad >= 0)
            Assert.Fail($"{what}: element {bad} is {actual[bad]:R}, expected {expected[bad]:R} (atol {atol}, rtol {rtol}).");
    }

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);
}
