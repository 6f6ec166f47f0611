using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Fill, copy, add, mul, scale, axpy, channel affine, reduce-sum and dropout against the float64 reference.</summary>
public abstract class ElementwiseOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    public static TheoryData<int> Lengths => new() { 1, 7, 64, 1000, 4099 };

    [Theory, MemberData(nameof(Lengths))]
    public void FillAndCopyAreExact(int length)
    {
        var x = Rng.Uniform(length);
        float v = Rng.Next();
        var shape = TensorShape.Vector(length);
        Verify($"Fill/Copy n={length}", (b, r) =>
        {
            var f = Out(b, shape);
            b.Fill(f, v);
            var c = Out(b, shape);
            b.Copy(In(b, x, shape), c);
            r.Add("fill", f, OpKind.Exact).Add("copy", c, OpKind.Exact);
        }, Expect(("fill", Enumerable.Repeat((double)v, length).ToArray()), ("copy", D(x))));
    }

    [Fact]
    public void CopyMovesInt32BitsAndBetweenViews()
    {
        var ints = Rng.Labels(12, 1000);
        var src = InInt(B, ints, TensorShape.Of(3, 4));
        var dst = Out(B, TensorShape.Of(12), DataType.Int32);
        B.Copy(src, dst);
        TensorAssert.Equal(dst.ToInt32Array(), ints, dst.Shape, "int32 copy");

        var x = Rng.Uniform(20);
        var big = In(B, x, TensorShape.Of(4, 5));
        var target = Out(B, TensorShape.Of(4, 5));
        B.Copy(Track(big.Slice(1, 2)), Track(target.Slice(2, 2)));
        var t = target.ToArray();
        TensorAssert.Equal(t.AsSpan(10, 10), x.AsSpan(5, 10), null, "rows 1..2 copied to rows 2..3");
        Assert.True(t.AsSpan(0, 10).ToArray().All(float.IsNaN), "rows 0..1 of the destination must be untouched");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void BinaryOpsMatch(int length)
    {
        float[] a = Rng.Uniform(length), c = Rng.Uniform(length);
        float alpha = Rng.Next(-2f, 2f);
        var s = TensorShape.Vector(length);
        Verify($"Add/Mul/Scale/Axpy n={length}", (b, r) =>
        {
            var ai = In(b, a, s); var ci = In(b, c, s);
            var sum = Out(b, s); var prod = Out(b, s); var scaled = Out(b, s);
            b.Add(ai, ci, sum);
            b.Mul(ai, ci, prod);
            b.Scale(ai, alpha, scaled);
            var acc = In(b, c, s);
            b.Axpy(alpha, ai, acc);
            r.Add("add", sum, OpKind.Pointwise).Add("mul", prod, OpKind.Pointwise).Add("scale", scaled, OpKind.Pointwise).Add("axpy", acc, OpKind.Pointwise);
        }, Expect(
            ("add", ElementwiseReference.Zip(D(a), D(c), (p, q) => p + q)),
            ("mul", ElementwiseReference.Zip(D(a), D(c), (p, q) => p * q)),
            ("scale", Array.ConvertAll(a, v => alpha * (double)v)),
            ("axpy", ElementwiseReference.Zip(D(a), D(c), (p, q) => q + alpha * p))));
    }

    [Fact]
    public void BinaryOpsMayAliasTheirOutput()
    {
        float[] a = Rng.Uniform(33), c = Rng.Uniform(33);
        var s = TensorShape.Vector(33);
        Verify("Add/Mul/Scale in place", (b, r) =>
        {
            var ai = In(b, a, s); var ci = In(b, c, s);
            b.Add(ai, ci, ai); // a := a + c
            var m = In(b, c, s);
            b.Mul(ai, m, m);   // m := (a + c) * c
            b.Scale(ci, 3f, ci);
            r.Add("add", ai, OpKind.Pointwise).Add("mul", m, OpKind.Pointwise).Add("scale", ci, OpKind.Pointwise);
        }, Expect(
            ("add", ElementwiseReference.Zip(D(a), D(c), (p, q) => p + q)),
            ("mul", ElementwiseReference.Zip(D(a), D(c), (p, q) => (float)(p + q) * q)),
            ("scale", Array.ConvertAll(c, v => 3.0 * v))));
    }

    public static TheoryData<int[], bool> AffineShapes => new()
    {
        { [4, 3], true }, { [2, 5, 7], false }, { [2, 3, 4, 5], true }, { [1, 6, 1, 1], true }, { [3, 2, 3, 3], false },
    };

    [Theory, MemberData(nameof(AffineShapes))]
    public void ChannelAffineScalesAndShiftsPerChannel(int[] dims, bool withShift)
    {
        var shape = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)shape.ElementsFrom(2);
        float[] x = Rng.Uniform(shape.ElementCount), scale = Rng.Uniform(c), shift = Rng.Uniform(c);
        Verify($"ChannelAffine {shape} shift={withShift}", (b, r) =>
        {
            var y = Out(b, shape);
            b.ChannelAffine(In(b, x, shape), In(b, scale, TensorShape.Vector(c)), withShift ? In(b, shift, TensorShape.Vector(c)) : null, y);
            var inPlace = In(b, x, shape);
            b.ChannelAffine(inPlace, In(b, scale, TensorShape.Vector(c)), withShift ? In(b, shift, TensorShape.Vector(c)) : null, inPlace);
            r.Add("y", y, OpKind.Pointwise).Add("y in place", inPlace, OpKind.Pointwise);
        }, Expect(("y", ElementwiseReference.ChannelAffine(D(x), D(scale), withShift ? D(shift) : null, n, c, rest)),
            ("y in place", ElementwiseReference.ChannelAffine(D(x), D(scale), withShift ? D(shift) : null, n, c, rest))));
    }

    public static TheoryData<int, int, int> ReduceShapes => new()
    {
        { 1, 10, 1 }, { 3, 4, 5 }, { 1, 1000, 3 }, { 7, 1, 9 }, { 2, 64, 33 }, { 5, 3, 1 },
    };

    [Theory, MemberData(nameof(ReduceShapes))]
    public void ReduceSumOverwritesAndAccumulates(int outer, int reduce, int inner)
    {
        var x = Rng.Uniform(outer * reduce * inner);
        var prior = Rng.Uniform(outer * inner);
        var sum = ElementwiseReference.ReduceSum(D(x), outer, reduce, inner);
        var xs = TensorShape.Vector(outer * reduce * inner);
        var ys = TensorShape.Matrix(outer, inner);
        Verify($"ReduceSum ({outer},{reduce},{inner})", (b, r) =>
        {
            var y = Out(b, ys);
            b.ReduceSum(In(b, x, xs), y, outer, reduce, inner, accumulate: false);
            var acc = In(b, prior, ys);
            b.ReduceSum(In(b, x, xs), acc, outer, reduce, inner, accumulate: true);
            r.Add("sum", y, OpKind.Pointwise).Add("accumulated", acc, OpKind.Pointwise);
        }, Expect(("sum", sum), ("accumulated", sum.Select((v, i) => v + prior[i]).ToArray())));
    }

    public static TheoryData<float, ulong, ulong, int> DropoutCases => new()
    {
        { 0f, 1UL, 0UL, 100 }, { 0.5f, 42UL, 0UL, 1000 }, { 0.1f, 7UL, 12345UL, 517 }, { 0.9f, ulong.MaxValue, 3UL, 2048 },
    };

    [Theory, MemberData(nameof(DropoutCases))]
    public void DropoutUsesTheSharedCounterRng(float p, ulong seed, ulong offset, int length)
    {
        var x = Rng.Uniform(length);
        var (y, mask) = ElementwiseReference.Dropout(D(x), p, seed, offset);
        var s = TensorShape.Vector(length);
        var result = Verify($"DropoutForward p={p} seed={seed} offset={offset}", (b, r) =>
        {
            var yo = Out(b, s); var mo = Out(b, s);
            b.DropoutForward(In(b, x, s), yo, mo, p, seed, offset);
            r.Add("y", yo, OpKind.Pointwise).Add("mask", mo, OpKind.Pointwise);
        }, Expect(("y", y), ("mask", mask)));
        // The keep pattern is exact: zero exactly where the reference drops.
        var m = result["mask"].Floats!;
        for (int i = 0; i < length; i++)
            Assert.True(m[i] == 0 == (mask[i] == 0), $"mask[{i}] = {m[i]}, reference {mask[i]} (u = {DropoutRng.Uniform(seed, offset + (ulong)i)})");
        if (length >= 1000 && p > 0)
        {
            double kept = m.Count(v => v != 0) / (double)length;
            Assert.InRange(kept, 1 - p - 0.05, 1 - p + 0.05);
        }
    }

    [Theory, MemberData(nameof(DropoutCases))]
    public void DropoutWithSeedAndOffsetInDeviceMemoryDrawsTheSameMask(float p, ulong seed, ulong offset, int length)
    {
        var x = Rng.Uniform(length);
        var s = TensorShape.Vector(length);
        var xi = In(B, x, s);
        var (y, mask) = (Out(B, s), Out(B, s));
        B.DropoutForward(xi, y, mask, p, seed, offset);
        var words = new int[4];
        DropoutRng.WriteSeedAndOffset(words, seed, offset);
        Assert.Equal((seed, offset), DropoutRng.ReadSeedAndOffset(words));
        var seedAndOffset = InInt(B, new int[4], TensorShape.Vector(4));
        B.QueueUpload(seedAndOffset, words);
        var (y2, mask2) = (Out(B, s), Out(B, s));
        B.DropoutForward(xi, y2, mask2, p, seedAndOffset);
        TensorAssert.Equal(mask2.ToArray(), mask.ToArray(), s, Rng.Label($"device seed/offset vs arguments, mask [{Under.Name}]"));
        TensorAssert.Equal(y2.ToArray(), y.ToArray(), s, Rng.Label($"device seed/offset vs arguments, y [{Under.Name}]"));
    }

    [Fact]
    public void QueuedUploadsArriveInOrderWithTheOpsAroundThem()
    {
        // Many small uploads interleaved with ops that read them: each op must see the value queued just before it, also
        // once the staging ring has wrapped around, and a large upload in between must not disturb the small ones.
        var s = TensorShape.Vector(300);
        var x = In(B, Rng.Uniform(300), s);
        var acc = In(B, new float[300], s);
        var expected = new double[300];
        var host = x.ToArray();
        for (int i = 0; i < 3000; i++)
        {
            float scale = 1f + (i % 7);
            var values = Enumerable.Range(0, 300).Select(j => host[j] * scale).ToArray();
            if (i == 1500)
            {
                var big = Track(B.Allocate(TensorShape.Vector(600_000)));
                B.QueueUpload(big, new float[600_000]);
            }
            B.QueueUpload(x, values);
            B.Axpy(0.001f, x, acc);
            for (int j = 0; j < 300; j++) expected[j] += 0.001 * values[j];
        }
        TensorAssert.Close(acc.ToArray().Select(v => (double)v).ToArray(), expected, new Tolerance(1e-3, 1e-3), s, Rng.Label("queued uploads"));
    }

    [Fact]
    public void DropoutMaskDependsOnlyOnSeedAndOffset()
    {
        // Elements i..i+n of one call equal a call at offset + i on a slice: the counter is global.
        var x = Rng.Uniform(64);
        var s = TensorShape.Vector(64);
        var y = Out(B, s); var m = Out(B, s);
        B.DropoutForward(In(B, x, s), y, m, 0.3f, 99, 10);
        var s2 = TensorShape.Vector(32);
        var y2 = Out(B, s2); var m2 = Out(B, s2);
        B.DropoutForward(In(B, x.AsSpan(16, 32), s2), y2, m2, 0.3f, 99, 26);
        TensorAssert.Equal(m2.ToArray(), m.ToArray().AsSpan(16, 32), s2, "mask of the shifted call");
    }

    [Fact]
    public void ElementwiseOpsAreDeterministic()
    {
        const int n = 4, c = 8, rest = 37;
        var shape = TensorShape.Of(n, c, rest);
        float[] x = Rng.Uniform(n * c * rest), sc = Rng.Uniform(c), sh = Rng.Uniform(c);
        AssertDeterministic("element-wise ops", (b, r) =>
        {
            var xi = In(b, x, shape);
            var aff = Out(b, shape); var red = Out(b, TensorShape.Of(n, rest)); var y = Out(b, shape); var mk = Out(b, shape);
            b.ChannelAffine(xi, In(b, sc, TensorShape.Vector(c)), In(b, sh, TensorShape.Vector(c)), aff);
            b.ReduceSum(xi, red, n, c, rest, accumulate: false);
            b.DropoutForward(xi, y, mk, 0.4f, 5, 0);
            r.Add("affine", aff, OpKind.Pointwise).Add("reduce", red, OpKind.Pointwise).Add("dropout", y, OpKind.Pointwise);
        });
    }
}
