using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// The in-place calls the aliasing contract allows (IBackend docs; the "Aliasing:" line of each kernel in kernels/*.cu):
/// each op runs once with an output that is the very tensor of an input and once into a fresh output, on the same backend
/// from the same data, and the results must be bit-identical (same backend, same kernel, same inputs). On a GPU this is
/// what a wrongly __restrict__-qualified pointer breaks: the compiler may then read the input through the non-coherent
/// cache, or reorder the read after another thread's write. Correctness of the out-of-place results is the op-family
/// suites' job.
/// </summary>
public abstract class AliasingOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    private static readonly TensorShape Map = TensorShape.Nchw(3, 5, 6, 7);
    private static readonly TensorShape Rows = TensorShape.Matrix(9, 13);

    /// <summary>Runs <paramref name="run"/> out of place (false) and in place (true) and demands equal bits in every output.</summary>
    private void InPlaceMatchesOutOfPlace(string what, Func<bool, float[][]> run)
    {
        var outOfPlace = run(false);
        var inPlace = run(true);
        for (int i = 0; i < outOfPlace.Length; i++)
            TensorAssert.Equal(inPlace[i], outOfPlace[i], null, $"{Rng.Label(what)} [{Under.Name}] output {i}, in place vs out of place");
    }

    public static TheoryData<ActivationKind> Kinds => [ActivationKind.ReLU, ActivationKind.LeakyReLU, ActivationKind.ELU, ActivationKind.Sigmoid, ActivationKind.Tanh];

    [Theory, MemberData(nameof(Kinds))]
    public void ActivationForwardInPlace(ActivationKind kind)
    {
        var x = Rng.Uniform(Map.ElementCount, -3f, 3f);
        InPlaceMatchesOutOfPlace($"ActivationForward {kind} y = x", aliased =>
        {
            var xi = In(B, x, Map);
            var y = aliased ? xi : Out(B, Map);
            B.ActivationForward(kind, 0.2f, xi, y);
            return [y.ToArray()];
        });
    }

    /// <summary>dx may be dy, x or y (each thread reads its element of every input before writing dx).</summary>
    [Theory, MemberData(nameof(Kinds))]
    public void ActivationBackwardInPlace(ActivationKind kind)
    {
        var x = Rng.AwayFromZero(Map.ElementCount, 0.05f, 3f);
        var dy = Rng.Uniform(Map.ElementCount);
        foreach (string into in new[] { "dy", "x", "y" })
            InPlaceMatchesOutOfPlace($"ActivationBackward {kind} dx = {into}", aliased =>
            {
                var xi = In(B, x, Map);
                var y = Out(B, Map);
                B.ActivationForward(kind, 0.2f, xi, y);
                var dyi = In(B, dy, Map);
                var dx = !aliased ? Out(B, Map) : into switch { "dy" => dyi, "x" => xi, _ => y };
                B.ActivationBackward(kind, 0.2f, xi, y, dyi, dx);
                return [dx.ToArray()];
            });
    }

    [Fact]
    public void SoftmaxForwardAndBackwardInPlace()
    {
        var x = Rng.Uniform(Rows.ElementCount, -4f, 4f);
        var dy = Rng.Uniform(Rows.ElementCount);
        InPlaceMatchesOutOfPlace("SoftmaxForward y = x", aliased =>
        {
            var xi = In(B, x, Rows);
            var y = aliased ? xi : Out(B, Rows);
            B.SoftmaxForward(xi, y);
            return [y.ToArray()];
        });
        foreach (string into in new[] { "dy", "y" })
            InPlaceMatchesOutOfPlace($"SoftmaxBackward dx = {into}", aliased =>
            {
                var y = Out(B, Rows);
                B.SoftmaxForward(In(B, x, Rows), y);
                var dyi = In(B, dy, Rows);
                var dx = !aliased ? Out(B, Rows) : into == "dy" ? dyi : y;
                B.SoftmaxBackward(y, dyi, dx);
                return [dx.ToArray()];
            });
    }

    [Theory, InlineData(0f), InlineData(2f)]
    public void LossForwardWritesProbabilitiesOverTheLogitsAndBackwardOverTheProbabilities(float focalGamma)
    {
        var logits = Rng.Uniform(Rows.ElementCount, -4f, 4f);
        var labels = Rng.Labels(Rows.Dimensions[0], Rows.Dimensions[1]);
        var rows = TensorShape.Vector(Rows.Dimensions[0]);
        InPlaceMatchesOutOfPlace($"loss forward p = logits (focal gamma {focalGamma})", aliased =>
        {
            var x = In(B, logits, Rows);
            var li = InInt(B, labels, rows);
            var p = aliased ? x : Out(B, Rows);
            var losses = Out(B, rows);
            if (focalGamma == 0f) B.SoftmaxCrossEntropyForward(x, li, p, losses);
            else B.FocalLossForward(x, li, focalGamma, p, losses);
            return [p.ToArray(), losses.ToArray()];
        });
        InPlaceMatchesOutOfPlace("SoftmaxCrossEntropyBackward grad = p", aliased =>
        {
            var p = Out(B, Rows);
            B.SoftmaxForward(In(B, logits, Rows), p);
            var grad = aliased ? p : Out(B, Rows);
            B.SoftmaxCrossEntropyBackward(p, InInt(B, labels, rows), grad, 1f / Rows.Dimensions[0]);
            return [grad.ToArray()];
        });
    }

    [Fact]
    public void BatchNormInPlace()
    {
        var c = TensorShape.Vector(Map.Dimensions[1]);
        var x = Rng.Uniform(Map.ElementCount, -2f, 2f);
        var dy = Rng.Uniform(Map.ElementCount);
        var gamma = Rng.Uniform(c.ElementCount, 0.5f, 1.5f);
        var beta = Rng.Uniform(c.ElementCount);
        var runMean = Rng.Uniform(c.ElementCount);
        var runVar = Rng.Uniform(c.ElementCount, 0.5f, 2f);
        InPlaceMatchesOutOfPlace("BatchNorm2dForwardTraining y = x", aliased =>
        {
            var xi = In(B, x, Map);
            var y = aliased ? xi : Out(B, Map);
            Tensor mean = Out(B, c), inv = Out(B, c), rm = In(B, runMean, c), rv = In(B, runVar, c);
            B.BatchNorm2dForwardTraining(xi, In(B, gamma, c), In(B, beta, c), y, mean, inv, rm, rv, 0.1f, 1e-5f);
            return [y.ToArray(), mean.ToArray(), inv.ToArray(), rm.ToArray(), rv.ToArray()];
        });
        InPlaceMatchesOutOfPlace("BatchNorm2dForwardInference y = x", aliased =>
        {
            var xi = In(B, x, Map);
            var y = aliased ? xi : Out(B, Map);
            B.BatchNorm2dForwardInference(xi, In(B, gamma, c), In(B, beta, c), In(B, runMean, c), In(B, runVar, c), 1e-5f, y);
            return [y.ToArray()];
        });
        foreach (string into in new[] { "dy", "x" })
            InPlaceMatchesOutOfPlace($"BatchNorm2dBackward dx = {into}", aliased =>
            {
                var xi = In(B, x, Map);
                Tensor mean = Out(B, c), inv = Out(B, c);
                B.BatchNorm2dForwardTraining(xi, In(B, gamma, c), In(B, beta, c), Out(B, Map), mean, inv, In(B, runMean, c), In(B, runVar, c), 0.1f, 1e-5f);
                var dyi = In(B, dy, Map);
                var dx = !aliased ? Out(B, Map) : into == "dy" ? dyi : xi;
                Tensor dg = Out(B, c), db = Out(B, c);
                B.BatchNorm2dBackward(xi, dyi, In(B, gamma, c), mean, inv, dx, dg, db, accumulate: false);
                return [dx.ToArray(), dg.ToArray(), db.ToArray()];
            });
    }

    [Fact]
    public void ElementwiseOpsInPlace()
    {
        var a = Rng.Uniform(Map.ElementCount);
        var b = Rng.Uniform(Map.ElementCount);
        foreach (var (name, op) in new (string, Action<Tensor, Tensor, Tensor>)[] { ("Add", B.Add), ("Mul", B.Mul) })
            foreach (string into in new[] { "a", "b", "a = b" })
                InPlaceMatchesOutOfPlace($"{name} y = {into}", aliased =>
                {
                    var ai = In(B, a, Map);
                    var bi = aliased && into == "a = b" ? ai : In(B, into == "a = b" ? a : b, Map);
                    var y = !aliased ? Out(B, Map) : into == "b" ? bi : ai;
                    op(ai, bi, y);
                    return [y.ToArray()];
                });
        InPlaceMatchesOutOfPlace("Scale y = x", aliased =>
        {
            var x = In(B, a, Map);
            var y = aliased ? x : Out(B, Map);
            B.Scale(x, -1.7f, y);
            return [y.ToArray()];
        });
        InPlaceMatchesOutOfPlace("Axpy x = y", aliased =>
        {
            var y = In(B, a, Map);
            B.Axpy(0.3f, aliased ? y : In(B, a, Map), y);
            return [y.ToArray()];
        });
        var c = TensorShape.Vector(Map.Dimensions[1]);
        var scale = Rng.Uniform(c.ElementCount);
        var shift = Rng.Uniform(c.ElementCount);
        foreach (bool withShift in new[] { false, true })
            InPlaceMatchesOutOfPlace($"ChannelAffine y = x (shift {withShift})", aliased =>
            {
                var x = In(B, a, Map);
                var y = aliased ? x : Out(B, Map);
                B.ChannelAffine(x, In(B, scale, c), withShift ? In(B, shift, c) : null, y);
                return [y.ToArray()];
            });
        InPlaceMatchesOutOfPlace("DropoutForward y = x", aliased =>
        {
            var x = In(B, a, Map);
            var y = aliased ? x : Out(B, Map);
            var mask = Out(B, Map);
            B.DropoutForward(x, y, mask, 0.3f, 1234, 5);
            return [y.ToArray(), mask.ToArray()];
        });
    }
}
