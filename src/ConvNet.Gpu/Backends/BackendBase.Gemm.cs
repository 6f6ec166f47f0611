namespace ConvNet.Gpu;

// The Gemm op family of IBackend: SGEMM and strided-batched SGEMM, row-major (CpuBackend.Gemm.cs; CudaBackend.Gemm.cs
// calls cuBLAS). Each public op checks its arguments (OpChecks) before any work, then calls its Core method, which the
// backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c)
    {
        using var use = _use.Enter("Gemm");
        CheckGemm("Gemm", m, n, k, alpha, beta, a, 0, b, 0, c, 0, 1);
        GemmCore(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    /// <inheritdoc/>
    public void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount)
    {
        using var use = _use.Enter("GemmStridedBatched");
        OpChecks.Positive("GemmStridedBatched", "batchCount", batchCount);
        if (strideA < 0 || strideB < 0 || strideC < 0)
            throw new ConvNetArgumentException($"GemmStridedBatched: strides must be non-negative, got strideA={strideA}, strideB={strideB}, strideC={strideC}.");
        if (batchCount > 1 && strideC < (long)m * n)
            throw new ConvNetArgumentException($"GemmStridedBatched: strideC={strideC} is smaller than one C matrix ({m} x {n}), so outputs would overlap.");
        CheckGemm("GemmStridedBatched", m, n, k, alpha, beta, a, strideA, b, strideB, c, strideC, batchCount);
        GemmStridedBatchedCore(transA, transB, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC, batchCount);
    }

    private void CheckGemm(string op, int m, int n, int k, float alpha, float beta,
        Tensor a, long strideA, Tensor b, long strideB, Tensor c, long strideC, int batch)
    {
        OpChecks.Positive(op, "m", m);
        OpChecks.Positive(op, "n", n);
        OpChecks.Positive(op, "k", k);
        OpChecks.Finite(op, "alpha", alpha);
        OpChecks.Finite(op, "beta", beta);
        OpChecks.Float(this, op, "A", a);
        OpChecks.Float(this, op, "B", b);
        OpChecks.Float(this, op, "C", c);
        OpChecks.AtLeast(op, "A", a, strideA * (batch - 1) + (long)m * k, $"A ({m} x {k}) x {batch}");
        OpChecks.AtLeast(op, "B", b, strideB * (batch - 1) + (long)k * n, $"B ({k} x {n}) x {batch}");
        OpChecks.AtLeast(op, "C", c, strideC * (batch - 1) + (long)m * n, $"C ({m} x {n}) x {batch}");
    }

    /// <summary>GEMM without checks.</summary>
    protected abstract void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c);
    /// <summary>Strided-batched GEMM without checks.</summary>
    protected abstract void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount);
}
