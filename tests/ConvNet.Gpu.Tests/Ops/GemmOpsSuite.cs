using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Row-major GEMM and strided-batched GEMM, every transposition, alpha/beta, against <see cref="GemmReference"/>.</summary>
public abstract class GemmOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    public static TheoryData<bool, bool, int, int, int> Shapes
    {
        get
        {
            var d = new TheoryData<bool, bool, int, int, int>();
            foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 10, 1), (2, 70, 45), (33, 31, 129), (129, 65, 257) })
            foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                d.Add(ta, tb, m, n, k);
            return d;
        }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void GemmMatchesReference(bool transA, bool transB, int m, int n, int k)
    {
        float[] a = Rng.Uniform(m * k), bm = Rng.Uniform(k * n), c0 = Rng.Uniform(m * n);
        float alpha = Rng.Next(0.5f, 2f), beta = Rng.Next(-1f, 1f);
        var overwrite = new double[m * n];
        GemmReference.Gemm(transA, transB, m, n, k, alpha, D(a), 0, D(bm), 0, 0, overwrite, 0);
        var accumulate = D(c0);
        GemmReference.Gemm(transA, transB, m, n, k, alpha, D(a), 0, D(bm), 0, beta, accumulate, 0);
        Verify($"Gemm tA={transA} tB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta}", (b, r) =>
        {
            var ai = In(b, a, TensorShape.Vector(m * k));
            var bi = In(b, bm, TensorShape.Vector(k * n));
            var c = Out(b, TensorShape.Matrix(m, n)); // NaN-poisoned: beta = 0 must not propagate it
            b.Gemm(transA, transB, m, n, k, alpha, ai, bi, 0f, c);
            var cAcc = In(b, c0, TensorShape.Matrix(m, n));
            b.Gemm(transA, transB, m, n, k, alpha, ai, bi, beta, cAcc);
            r.Add("beta=0", c, OpKind.Matmul).Add("beta", cAcc, OpKind.Matmul);
        }, Expect(("beta=0", overwrite), ("beta", accumulate)));
    }

    public static TheoryData<bool, bool, int, bool> BatchedCases => new()
    {
        { false, false, 3, false }, { true, false, 4, false }, { false, true, 2, true }, { true, true, 5, false }, { false, false, 1, true },
    };

    [Theory, MemberData(nameof(BatchedCases))]
    public void StridedBatchedMatchesPerMatrixReference(bool transA, bool transB, int batch, bool shareB)
    {
        const int m = 6, n = 5, k = 9;
        long strideA = m * k + 3, strideB = shareB ? 0 : k * n + 1, strideC = m * n + 2; // gaps between matrices
        float[] a = Rng.Uniform(strideA * batch), bm = Rng.Uniform(shareB ? k * n : strideB * batch), c0 = Rng.Uniform(strideC * batch);
        float alpha = 0.75f, beta = 0.5f;
        var expected = D(c0);
        for (int i = 0; i < batch; i++)
            GemmReference.Gemm(transA, transB, m, n, k, alpha, D(a), i * strideA, D(bm), i * strideB, beta, expected, i * strideC);
        Verify($"GemmStridedBatched tA={transA} tB={transB} batch={batch} shareB={shareB}", (b, r) =>
        {
            var c = In(b, c0, TensorShape.Vector(c0.Length));
            b.GemmStridedBatched(transA, transB, m, n, k, alpha, In(b, a, TensorShape.Vector(a.Length)), strideA,
                In(b, bm, TensorShape.Vector(bm.Length)), strideB, beta, c, strideC, batch);
            r.Add("C", c, OpKind.Matmul);
        }, Expect(("C", expected)));
    }

    [Fact]
    public void GemmIsDeterministic()
    {
        const int m = 70, n = 90, k = 300;
        float[] a = Rng.Uniform(m * k), bm = Rng.Uniform(k * n);
        AssertDeterministic("Gemm 70x90x300", (b, r) =>
        {
            var c = Out(b, TensorShape.Matrix(m, n));
            b.Gemm(false, true, m, n, k, 1f, In(b, a, TensorShape.Matrix(m, k)), In(b, bm, TensorShape.Matrix(n, k)), 0f, c);
            r.Add("C", c, OpKind.Matmul);
        });
    }
}
