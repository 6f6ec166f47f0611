using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>SGD (plain, momentum, Nesterov, weight decay) and Adam/AdamW over several steps against <see cref="OptimizerReference"/>.</summary>
public abstract class OptimizerOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    private const int Length = 257, Steps = 4;

    public static TheoryData<float, float, bool> SgdCases => new()
    {
        { 0f, 0f, false }, { 0f, 1e-2f, false }, { 0.9f, 0f, false }, { 0.9f, 5e-3f, false }, { 0.9f, 0f, true }, { 0.5f, 1e-2f, true },
    };

    [Theory, MemberData(nameof(SgdCases))]
    public void SgdStepsMatchReference(float momentum, float weightDecay, bool nesterov)
    {
        const float lr = 0.05f;
        var p0 = Rng.Uniform(Length);
        var v0 = Rng.Uniform(Length);
        var grads = Enumerable.Range(0, Steps).Select(_ => Rng.Uniform(Length)).ToArray();
        double[] p = D(p0), v = D(v0);
        foreach (var g in grads) OptimizerReference.Sgd(p, D(g), v, lr, momentum, weightDecay, nesterov);
        var s = TensorShape.Vector(Length);
        Verify($"SgdStep x{Steps} momentum={momentum} wd={weightDecay} nesterov={nesterov}", (b, r) =>
        {
            var pi = In(b, p0, s); var vi = In(b, v0, s);
            foreach (var g in grads) b.SgdStep(pi, In(b, g, s), vi, lr, momentum, weightDecay, nesterov);
            r.Add("param", pi, OpKind.Pointwise).Add("velocity", vi, OpKind.Pointwise);
        }, Expect(("param", p), ("velocity", v)));
    }

    public static TheoryData<float, bool> AdamCases => new() { { 0f, false }, { 1e-2f, false }, { 1e-2f, true }, { 0.1f, true } };

    [Theory, MemberData(nameof(AdamCases))]
    public void AdamStepsMatchReference(float weightDecay, bool decoupled)
    {
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var p0 = Rng.Uniform(Length);
        var grads = Enumerable.Range(0, Steps).Select(_ => Rng.Uniform(Length)).ToArray();
        double[] p = D(p0), m = new double[Length], v = new double[Length];
        for (int t = 1; t <= Steps; t++) OptimizerReference.Adam(p, D(grads[t - 1]), m, v, lr, b1, b2, eps, weightDecay, decoupled, t);
        var s = TensorShape.Vector(Length);
        Verify($"AdamStep x{Steps} wd={weightDecay} decoupled={decoupled}", (b, r) =>
        {
            var pi = In(b, p0, s); var mi = In(b, new float[Length], s); var vi = In(b, new float[Length], s);
            for (int t = 1; t <= Steps; t++) b.AdamStep(pi, In(b, grads[t - 1], s), mi, vi, lr, b1, b2, eps, weightDecay, decoupled, t);
            r.Add("param", pi, OpKind.Pointwise).Add("m", mi, OpKind.Pointwise).Add("v", vi, OpKind.Pointwise);
        }, Expect(("param", p), ("m", m), ("v", v)));
    }

    [Fact]
    public void SgdWithoutMomentumLeavesVelocityUntouched()
    {
        var s = TensorShape.Vector(Length);
        var v0 = Rng.Uniform(Length);
        var vi = In(B, v0, s);
        B.SgdStep(In(B, Rng.Uniform(Length), s), In(B, Rng.Uniform(Length), s), vi, 0.1f, 0f, 0f, false);
        TensorAssert.Equal(vi.ToArray(), v0, s, "velocity after a momentum-0 step");
    }

    [Fact]
    public void OptimizersAreDeterministic()
    {
        var s = TensorShape.Vector(4099);
        var p0 = Rng.Uniform(4099);
        var g = Rng.Uniform(4099);
        AssertDeterministic("optimizers", (b, r) =>
        {
            var p = In(b, p0, s); var v = In(b, new float[4099], s);
            var q = In(b, p0, s); var m = In(b, new float[4099], s); var w = In(b, new float[4099], s);
            var gi = In(b, g, s);
            for (int t = 1; t <= 3; t++)
            {
                b.SgdStep(p, gi, v, 0.1f, 0.9f, 1e-4f, true);
                b.AdamStep(q, gi, m, w, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, true, t);
            }
            r.Add("sgd", p, OpKind.Pointwise).Add("adam", q, OpKind.Pointwise);
        });
    }
}
