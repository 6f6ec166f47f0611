namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// What the CPU convolution test classes share: uploading arrays, running the three passes of one geometry, and the
/// float64-reference comparison with a tolerance that grows like the square root of the reduction length.
/// </summary>
internal static class CpuConvHelpers
{
    /// <summary>A new tensor of <paramref name="shape"/> on <paramref name="backend"/> holding <paramref name="data"/>; the caller disposes it.</summary>
    public static Tensor Up(IBackend backend, TensorShape shape, float[] data)
    {
        var t = backend.Allocate(shape);
        t.Upload(data);
        return t;
    }

    /// <summary>The values widened to float64.</summary>
    public static double[] D(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>
    /// Forward (with bias), backward-data and backward-weights (not accumulating) of <paramref name="g"/>, every output
    /// pre-filled with NaN so a pass that skips an element shows.
    /// </summary>
    public static (float[] Y, float[] Dx, float[] Dw) RunPasses(IBackend backend, Conv2dGeometry g, float[] x, float[] w, float[] b, float[] dy)
    {
        float[] nan(TensorShape s) => Enumerable.Repeat(float.NaN, (int)s.ElementCount).ToArray();
        using Tensor tx = Up(backend, g.InputShape, x), tw = Up(backend, g.WeightShape, w), tb = Up(backend, g.BiasShape, b);
        using Tensor tdy = Up(backend, g.OutputShape, dy), ty = Up(backend, g.OutputShape, nan(g.OutputShape));
        using Tensor tdx = Up(backend, g.InputShape, nan(g.InputShape)), tdw = Up(backend, g.WeightShape, nan(g.WeightShape));
        backend.Conv2dForward(tx, tw, tb, ty, g);
        backend.Conv2dBackwardData(tdy, tw, tdx, g);
        backend.Conv2dBackwardWeights(tx, tdy, tdw, g, accumulate: false);
        return (ty.ToArray(), tdx.ToArray(), tdw.ToArray());
    }

    /// <summary>|a - e| &lt;= atol + rtol |e| with atol growing like sqrt(reduction length), as in ConvFastPathTests.</summary>
    public static void Close(double[] expected, float[] actual, int reductionLength, string what)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        double atol = 1e-5 * Math.Sqrt(reductionLength) + 1e-5, rtol = 1e-4;
        for (int i = 0; i < expected.Length; i++)
            Xunit.Assert.True(Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}: element {i} = {actual[i]}, expected {expected[i]} (atol {atol:E2})");
    }
}
