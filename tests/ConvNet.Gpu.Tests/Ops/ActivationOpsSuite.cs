using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Every activation forward and backward, out of place and in place, against <see cref="ElementwiseReference"/>.</summary>
public abstract class ActivationOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    public static TheoryData<ActivationKind, float> Kinds => new()
    {
        { ActivationKind.ReLU, 0f }, { ActivationKind.LeakyReLU, 0.1f }, { ActivationKind.LeakyReLU, 0.02f },
        { ActivationKind.ELU, 1f }, { ActivationKind.ELU, 0.5f }, { ActivationKind.Sigmoid, 0f }, { ActivationKind.Tanh, 0f },
    };

    private static readonly TensorShape Shape = TensorShape.Nchw(2, 3, 5, 7);

    /// <summary>Inputs spread over [-4, 4] and kept 1e-2 away from the kink at 0.</summary>
    private float[] Inputs() => Array.ConvertAll(Rng.AwayFromZero(Shape.ElementCount, 1e-2f, 4f), v => v);

    [Theory, MemberData(nameof(Kinds))]
    public void ForwardMatchesReference(ActivationKind kind, float alpha)
    {
        var x = Inputs();
        Verify($"ActivationForward {kind}({alpha})", (b, r) =>
        {
            var y = Out(b, Shape);
            b.ActivationForward(kind, alpha, In(b, x, Shape), y);
            r.Add("y", y, OpKind.Pointwise);
        }, Expect(("y", ActivationReference.ActivationForward(kind, alpha, D(x)))));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ForwardInPlaceMatchesReference(ActivationKind kind, float alpha)
    {
        var x = Inputs();
        Verify($"ActivationForward in place {kind}({alpha})", (b, r) =>
        {
            var xy = In(b, x, Shape);
            b.ActivationForward(kind, alpha, xy, xy);
            r.Add("y", xy, OpKind.Pointwise);
        }, Expect(("y", ActivationReference.ActivationForward(kind, alpha, D(x)))));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void BackwardMatchesDerivative(ActivationKind kind, float alpha)
    {
        var x = Inputs();
        var dy = Rng.Uniform(Shape.ElementCount);
        var y = Array.ConvertAll(x, v => (float)ActivationReference.Activation(kind, alpha, v));
        Verify($"ActivationBackward {kind}({alpha})", (b, r) =>
        {
            var dx = Out(b, Shape);
            b.ActivationBackward(kind, alpha, In(b, x, Shape), In(b, y, Shape), In(b, dy, Shape), dx);
            r.Add("dx", dx, OpKind.Pointwise);
        }, Expect(("dx", ActivationReference.ActivationBackward(kind, alpha, D(x), D(dy)))));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void BackwardInPlaceOverGradY(ActivationKind kind, float alpha)
    {
        var x = Inputs();
        var dy = Rng.Uniform(Shape.ElementCount);
        Verify($"ActivationBackward dx aliases dy {kind}({alpha})", (b, r) =>
        {
            var xi = In(b, x, Shape);
            var yi = Out(b, Shape);
            b.ActivationForward(kind, alpha, xi, yi);
            var g = In(b, dy, Shape);
            b.ActivationBackward(kind, alpha, xi, yi, g, g);
            r.Add("dx", g, OpKind.Pointwise);
        }, Expect(("dx", ActivationReference.ActivationBackward(kind, alpha, D(x), D(dy)))));
    }

    [Fact]
    public void ActivationsAreDeterministic()
    {
        var x = Inputs();
        var dy = Rng.Uniform(Shape.ElementCount);
        AssertDeterministic("activations", (b, r) =>
        {
            foreach (var kind in Enum.GetValues<ActivationKind>())
            {
                var xi = In(b, x, Shape);
                var y = Out(b, Shape);
                var dx = Out(b, Shape);
                b.ActivationForward(kind, 0.1f, xi, y);
                b.ActivationBackward(kind, 0.1f, xi, y, In(b, dy, Shape), dx);
                r.Add($"{kind} y", y, OpKind.Pointwise).Add($"{kind} dx", dx, OpKind.Pointwise);
            }
        });
    }
}
