using ConvNet.Gpu.Tests.Infrastructure;

namespace ConvNet.Gpu.Tests.Gradients;

/// <summary>
/// The float32 gradient check of the convolution ops, shared by <see cref="GradientCheckSuite"/> (every op) and the
/// per-algorithm conv suites: the backward ops (dX, dW, db fed dY = G) of the backend under test against central
/// differences of a forward op, with L = sum(G ∘ y) for a fixed random G.
/// </summary>
public abstract class ConvGradientCheckBase(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>
    /// Checks the conv case <paramref name="name"/>: the analytic gradients come from the backend under test; the numeric
    /// ones from <paramref name="numeric"/>'s forward (the backend under test itself, or, where its forward is too coarse
    /// for finite differences, e.g. TF32, a trusted FP32 backend).
    /// </summary>
    protected void CheckConvGradients(string name, IBackend numeric, GradientCheck.Settings settings)
    {
        var g = ConvCases.Get(name).Geometry;
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount), b = Rng.Uniform(g.K);
        float[] gf = Rng.Uniform(g.OutputShape.ElementCount);
        double[] gd = Array.ConvertAll(gf, v => (double)v);
        Tensor gt = In(B, gf, g.OutputShape), dx = Out(B, g.InputShape), dw = Out(B, g.WeightShape), db = Out(B, g.BiasShape);
        B.Conv2dBackwardData(gt, In(B, w, g.WeightShape), dx, g);
        B.Conv2dBackwardWeights(In(B, x, g.InputShape), gt, dw, g, accumulate: false);
        B.BiasGradient(gt, db, accumulate: false);
        Tensor xt = In(numeric, x, g.InputShape), wt = In(numeric, w, g.WeightShape), bt = In(numeric, b, g.BiasShape), yt = Out(numeric, g.OutputShape);
        float[] Y() { numeric.Conv2dForward(xt, wt, bt, yt, g); return yt.ToArray(); }
        string what = Rng.Label($"{Under.Name} conv {g}" + (ReferenceEquals(numeric, B) ? "" : $" (numeric side: {numeric.Name})"));
        GradientCheck.Float32(what + " dX", x, v => { xt.Upload(v); return Y(); }, dx.ToArray(), gd, settings, g.InputShape);
        xt.Upload(x);
        GradientCheck.Float32(what + " dW", w, v => { wt.Upload(v); return Y(); }, dw.ToArray(), gd, settings, g.WeightShape);
        wt.Upload(w);
        GradientCheck.Float32(what + " db", b, v => { bt.Upload(v); return Y(); }, db.ToArray(), gd, settings, g.BiasShape);
    }
}
