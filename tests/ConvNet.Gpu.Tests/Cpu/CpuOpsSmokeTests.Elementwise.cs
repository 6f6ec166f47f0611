using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Cpu;

public sealed partial class CpuOpsSmokeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(100_003)]
    public void BinaryOpsMatchReference(int n)
    {
        var rng = new Random(n);
        var a = SmokeCheck.Random(rng, n);
        var c = SmokeCheck.Random(rng, n);
        const float alpha = -0.37f;
        var shape = TensorShape.Vector(n);
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var ta = SmokeCheck.Upload(b, shape, a);
            using var tc = SmokeCheck.Upload(b, shape, c);
            using var ty = SmokeCheck.Poisoned(b, shape);
            b.Add(ta, tc, ty);
            SmokeCheck.Close(ty.ToArray(), a.Select((v, i) => (double)v + c[i]).ToArray(), 0, 6e-8, "add");
            b.Mul(ta, tc, ty);
            SmokeCheck.Close(ty.ToArray(), a.Select((v, i) => (double)v * c[i]).ToArray(), 0, 6e-8, "mul");
            b.Fill(ty, float.NaN);
            b.Scale(ta, alpha, ty);
            SmokeCheck.Close(ty.ToArray(), a.Select(v => (double)v * alpha).ToArray(), 0, 6e-8, "scale");
            b.Axpy(alpha, ta, tc); // c += alpha * a
            SmokeCheck.Close(tc.ToArray(), a.Select((v, i) => alpha * (double)v + c[i]).ToArray(), 1e-7, 2e-7, "axpy");
            b.Add(ta, ta, ta); // fully aliased
            SmokeCheck.Close(ta.ToArray(), a.Select(v => 2.0 * v).ToArray(), 0, 0, "add in place");
        }
    }

    [Theory]
    [InlineData(1000, 0.3f, 0UL)]
    [InlineData(200_000, 0.5f, 12345UL)]
    [InlineData(64, 0f, 0UL)]
    [InlineData(1003, 0.2f, 7UL)]
    [InlineData(70_001, 0.9f, ulong.MaxValue - 5)]
    public void DropoutUsesTheSharedCounterRng(int n, float p, ulong offset)
    {
        const ulong seed = 0xC0FFEEUL;
        var x = SmokeCheck.Random(new Random(n), n);
        var shape = TensorShape.Vector(n);
        float keep = 1f / (1f - p);
        var refMask = Enumerable.Range(0, n).Select(i => DropoutRng.Uniform(seed, offset + (ulong)i) >= p ? (double)keep : 0).ToArray();
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var ty = SmokeCheck.Poisoned(b, shape);
            using var tm = SmokeCheck.Poisoned(b, shape);
            b.DropoutForward(tx, ty, tm, p, seed, offset);
            var mask = tm.ToArray();
            SmokeCheck.Close(mask, refMask, 0, 0, "dropout mask");
            SmokeCheck.Close(ty.ToArray(), x.Select((v, i) => (double)(v * (float)refMask[i])).ToArray(), 0, 0, "dropout y");
            double dropped = mask.Count(m => m == 0f) / (double)n;
            Assert.InRange(dropped, p - 4.5 * Math.Sqrt(p * (1 - p) / n) - 1e-9, p + 4.5 * Math.Sqrt(p * (1 - p) / n) + 1e-9);
        }
    }

    [Theory]
    [InlineData(new[] { 5, 7 }, true)]
    [InlineData(new[] { 5, 7 }, false)]
    [InlineData(new[] { 3, 4, 10 }, true)]
    [InlineData(new[] { 2, 3, 5, 7 }, true)]
    [InlineData(new[] { 16, 32, 16, 16 }, true)]
    [InlineData(new[] { 16, 32, 16, 16 }, false)]
    public void ChannelAffineMatchesReference(int[] dims, bool withShift)
    {
        var shape = TensorShape.Of(dims);
        int c = dims[1];
        long rest = shape.ElementCount / ((long)dims[0] * c);
        var rng = new Random(dims.Sum());
        var x = SmokeCheck.Random(rng, shape.ElementCount);
        var scale = SmokeCheck.Random(rng, c);
        var shift = SmokeCheck.Random(rng, c);
        var expected = x.Select((v, i) => (double)v * scale[i / rest % c] + (withShift ? shift[i / rest % c] : 0)).ToArray();
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, shape, x);
            using var ts = SmokeCheck.Upload(b, TensorShape.Vector(c), scale);
            using var tt = SmokeCheck.Upload(b, TensorShape.Vector(c), shift);
            using var ty = SmokeCheck.Poisoned(b, shape);
            b.ChannelAffine(tx, ts, withShift ? tt : null, ty);
            SmokeCheck.Close(ty.ToArray(), expected, 1e-6, 1e-6, "channel affine");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 1000, 1)]
    [InlineData(64, 1, 9)]
    [InlineData(4, 37, 5)]
    [InlineData(2, 300, 1300)]
    [InlineData(1, 100_000, 3)]
    [InlineData(1, 128, 4096)]
    public void ReduceSumMatchesReference(int outer, int reduce, int inner)
    {
        var rng = new Random(outer * 7 + reduce + inner);
        var x = SmokeCheck.Random(rng, (long)outer * reduce * inner);
        var y0 = SmokeCheck.Random(rng, (long)outer * inner);
        var sums = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int r = 0; r < reduce; r++)
                for (int i = 0; i < inner; i++) sums[o * inner + i] += x[((long)o * reduce + r) * inner + i];
        float[]? first = null;
        foreach (int threads in ThreadCounts)
        {
            using var b = Backend.Cpu(threads);
            using var tx = SmokeCheck.Upload(b, TensorShape.Vector(x.Length), x);
            using var ty = SmokeCheck.Poisoned(b, TensorShape.Vector(outer * inner));
            b.ReduceSum(tx, ty, outer, reduce, inner, accumulate: false);
            var y = ty.ToArray();
            SmokeCheck.Close(y, sums, 1e-6, 1e-6, "reduce sum");
            if (first is null) first = y; else Assert.Equal(first, y);
            ty.Upload(y0);
            b.ReduceSum(tx, ty, outer, reduce, inner, accumulate: true);
            SmokeCheck.Close(ty.ToArray(), sums.Select((s, i) => s + y0[i]).ToArray(), 1e-6, 1e-6, "reduce sum accumulate");
        }
    }
}
