using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// Convolutions on random geometries: each draw picks, from the test's seed, a batch of 1-3, groups 1, 2 or depthwise,
/// 1-5 channels per group in and out, a rectangular kernel of 1-5, strides and dilations of 1-3 per axis, independent
/// padding on all four sides and an input of 1-14 per axis (redrawn until the output has at least one pixel), with a
/// 1x1/stride-1/unpadded draw now and then so the pointwise path is hit. Forward with bias, backward-data and
/// backward-weights (accumulating) against the float64 reference and, for CUDA, the CPU backend. The geometry and seed
/// are in every failure message.
/// </summary>
public abstract class ConvRandomGeometrySuite(BackendUnderTest backend) : ConvPassesSuite(backend)
{
    /// <summary>The draws (the geometry comes from the test instance's seed, so every run sees new ones).</summary>
    public static TheoryData<int> Draws => new(Enumerable.Range(0, 16));

    /// <summary>The longest reduction a draw can hold: backward-weights over N*OH*OW = 3 * 14 * 14 pixels.</summary>
    public const long LongestReduction = 3 * 14 * 14;

    /// <summary>A random valid geometry from <paramref name="rng"/>.</summary>
    public static Conv2dGeometry Draw(TestRng rng)
    {
        while (true)
        {
            int groups = rng.NextInt(0, 3) switch { 0 => 1, 1 => 2, _ => -1 };
            int cg = groups == -1 ? 1 : rng.NextInt(1, 6), kg = rng.NextInt(1, 6);
            int c = groups == -1 ? rng.NextInt(1, 6) : groups * cg;
            if (groups == -1) groups = c; // depthwise: one input channel per group
            int k = groups * kg;
            bool pointwise = rng.NextInt(0, 6) == 0;
            int kh = pointwise ? 1 : rng.NextInt(1, 6), kw = pointwise ? 1 : rng.NextInt(1, 6);
            int sh = pointwise ? 1 : rng.NextInt(1, 4), sw = pointwise ? 1 : rng.NextInt(1, 4);
            int dh = rng.NextInt(1, 4), dw = rng.NextInt(1, 4);
            int effH = (kh - 1) * dh + 1, effW = (kw - 1) * dw + 1;
            var padding = pointwise ? Padding2d.Explicit(0, 0, 0, 0)
                : Padding2d.Explicit(rng.NextInt(0, effH), rng.NextInt(0, effH), rng.NextInt(0, effW), rng.NextInt(0, effW));
            int n = rng.NextInt(1, 4), h = rng.NextInt(1, 15), w = rng.NextInt(1, 15);
            try
            {
                return new Conv2dSpec(kh, kw, sh, sw, padding, dh, dw, groups).Resolve(TensorShape.Nchw(n, c, h, w), k);
            }
            catch (InvalidGeometryException)
            {
                // The kernel does not fit the padded input (or the padding is invalid for it): draw again.
            }
        }
    }

    [Theory, MemberData(nameof(Draws))]
    public void Every_pass_matches_the_reference_on_a_random_geometry(int draw)
    {
        var g = Draw(Rng);
        float[] x = Rng.Uniform(g.InputShape.ElementCount), w = Rng.Uniform(g.WeightShape.ElementCount), bias = Rng.Uniform(g.K);
        float[] dy = Rng.Uniform(g.OutputShape.ElementCount), before = Rng.Uniform(g.WeightShape.ElementCount);
        var dwExpected = ConvReference.BackwardWeights(D(x), D(dy), g);
        for (int i = 0; i < dwExpected.Length; i++) dwExpected[i] += before[i];
        VerifyPasses($"draw {draw}: {g}", g, x, w, bias, dy, ConvReference.Forward(D(x), D(w), D(bias), g),
            ConvReference.BackwardData(D(dy), D(w), g), dwExpected, before);
    }
}

/// <summary>Random geometries on the CPU backend.</summary>
public sealed class ConvRandomGeometry_Cpu() : ConvRandomGeometrySuite(TestBackends.Cpu());
