using ConvNet.Gpu.Tests.Infrastructure;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// Base of the conv suites that check all three passes of one geometry at once (random geometries, the benchmark
/// shapes): forward with bias, backward-data and backward-weights against float64 expectations and, for CUDA, the CPU.
/// </summary>
public abstract class ConvPassesSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>
    /// Verifies y = conv(x, w) + bias, dx from dy and w, and dw from x and dy (added to <paramref name="dwBefore"/> with
    /// accumulate = true when given, else overwriting) against <paramref name="y"/>, <paramref name="dx"/> and
    /// <paramref name="dw"/> (which then already include dwBefore).
    /// </summary>
    protected void VerifyPasses(string label, Conv2dGeometry g, float[] x, float[] w, float[] bias, float[] dy,
        double[] y, double[] dx, double[] dw, float[]? dwBefore = null)
    {
        Verify($"Conv2dForward {label}", (b, r) =>
        {
            var yt = Out(b, g.OutputShape);
            b.Conv2dForward(In(b, x, g.InputShape), In(b, w, g.WeightShape), In(b, bias, g.BiasShape), yt, g);
            r.Add("y", yt, OpKind.Matmul);
        }, Expect(("y", y)));
        Verify($"Conv2dBackwardData {label}", (b, r) =>
        {
            var dxt = Out(b, g.InputShape);
            b.Conv2dBackwardData(In(b, dy, g.OutputShape), In(b, w, g.WeightShape), dxt, g);
            r.Add("dx", dxt, OpKind.Matmul);
        }, Expect(("dx", dx)));
        Verify($"Conv2dBackwardWeights({(dwBefore is null ? "overwrite" : "accumulate")}) {label}", (b, r) =>
        {
            var dwt = dwBefore is null ? Out(b, g.WeightShape) : In(b, dwBefore, g.WeightShape);
            b.Conv2dBackwardWeights(In(b, x, g.InputShape), In(b, dy, g.OutputShape), dwt, g, accumulate: dwBefore is not null);
            r.Add("dw", dwt, OpKind.Matmul);
        }, Expect(("dw", dw)));
    }
}
