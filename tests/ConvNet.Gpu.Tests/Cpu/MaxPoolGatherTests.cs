using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

/// <summary>
/// The CPU max-pool backward fast paths (the vectorized 3x3 / column-stride-2 gather, the 2x2 vector pass and the
/// direct scatter for other disjoint windows) against a scalar float32 oracle of the contract: dX[e] = +0 plus, in
/// row-major window order, dY of every window whose argmax is e. Bit-exact, with ties, -0 gradients and odd sizes.
/// </summary>
public sealed class MaxPoolGatherTests
{
    public static TheoryData<string, int, int, int, int, int, int, bool> Cases() => new()
    {
        // name, H, W, kernel, stride, pad, ceil, threads
        { "3x3 s2 p1 even width", 9, 40, 3, 2, 1, 1, false },
        { "3x3 s2 p1 odd width and height", 11, 45, 3, 2, 1, 2, false },
        { "3x3 s2 p1 ceil mode", 10, 42, 3, 2, 1, 2, true },
        { "3x3 s2 p1 ResNet-like plane", 28, 112, 3, 2, 1, 2, false },
        { "3x3 s3 disjoint scatter", 10, 20, 3, 3, 0, 1, false },
        { "3x3 s3 p1 disjoint scatter with padding", 11, 19, 3, 3, 1, 2, false },
        { "2x2 s2 odd plane", 9, 33, 2, 2, 0, 2, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesScalarOracleBitForBit(string name, int h, int w, int kernel, int stride, int pad, int threads, bool ceil)
    {
        var g = Pool2dSpec.Square(kernel, stride, padding: pad, ceilMode: ceil).Resolve(TensorShape.Nchw(2, 3, h, w));
        var rng = new TestRng(name.Length + h * w);
        // Coarse values: many ties inside windows (the first in row-major order wins).
        float[] x = rng.Uniform(g.InputShape.ElementCount).Select(v => MathF.Round(v * 4) / 4).ToArray();
        float[] dy = rng.Uniform(g.OutputShape.ElementCount);
        for (int i = 0; i < dy.Length; i += 7) dy[i] = -0f;
        using var backend = new CpuBackend(threads);
        using Tensor tx = backend.Allocate(g.InputShape), ty = backend.Allocate(g.OutputShape);
        using Tensor ta = backend.Allocate(g.OutputShape, DataType.Int32), tdy = backend.Allocate(g.OutputShape);
        using Tensor tdx = backend.Allocate(g.InputShape);
        tx.Upload(x);
        tdy.Upload(dy);
        tdx.Upload(Enumerable.Repeat(float.NaN, (int)g.InputShape.ElementCount).ToArray());
        backend.MaxPool2dForward(tx, ty, ta, g);
        backend.MaxPool2dBackward(tdy, ta, tdx, g);
        int[] argmax = ta.ToInt32Array();
        float[] expected = Oracle(g, dy, argmax);
        float[] actual = tdx.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{name}: element {i} = {actual[i]:R}, expected {expected[i]:R}");
    }

    /// <summary>Per plane: every element starts at +0; windows in row-major order add dY to their argmax element.</summary>
    private static float[] Oracle(Pool2dGeometry g, float[] dy, int[] argmax)
    {
        int inPlane = g.H * g.W, outPlane = g.OH * g.OW;
        var dx = new float[g.N * g.C * inPlane];
        for (int p = 0; p < g.N * g.C; p++)
            for (int o = 0; o < outPlane; o++)
                dx[p * inPlane + argmax[p * outPlane + o]] += dy[p * outPlane + o];
        return dx;
    }
}
