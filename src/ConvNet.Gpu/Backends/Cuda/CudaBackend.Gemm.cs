namespace ConvNet.Gpu.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    protected override void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) =>
        RowMajorGemm(transA, transB, m, n, k, alpha, Ptr(a), Ptr(b), beta, Ptr(c));

    /// <inheritdoc/>
    protected override void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount) =>
        RowMajorGemmStridedBatched(transA, transB, m, n, k, alpha, Ptr(a), strideA, Ptr(b), strideB, beta, Ptr(c), strideC, batchCount);

    // cuBLAS is column-major. A row-major (r x s) matrix is, to cuBLAS, its (s x r) transpose with leading
    // dimension s. So row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T:
    // swap the operands and the m/n sizes, keep each operand's transpose flag (Caffe math_functions.cu).
    // Leading dimensions are the row lengths of the stored row-major matrices.

    /// <summary>Row-major C (m x n) = alpha * op(A) op(B) + beta * C on device pointers.</summary>
    private void RowMajorGemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, ulong b, float beta, ulong c)
    {
        int lda = transA ? m : k;   // A stored (k x m) when transposed, else (m x k)
        int ldb = transB ? k : n;   // B stored (n x k) when transposed, else (k x n)
        _device.Sgemm(transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, n);
    }

    /// <summary>
    /// Row-major strided-batched GEMM on device pointers (strides in elements; 0 reuses one matrix). B's stored rows are
    /// <paramref name="ldb"/> elements apart (default: dense, transB ? k : n), so B may be a column block of a wider matrix.
    /// </summary>
    private void RowMajorGemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        ulong a, long strideA, ulong b, long strideB, float beta, ulong c, long strideC, int batchCount, int ldb = 0)
    {
        int lda = transA ? m : k;
        if (ldb == 0) ldb = transB ? k : n;
        _device.SgemmStridedBatched(transB, transA, n, m, k, alpha, b, ldb, strideB, a, lda, strideA, beta, c, n, strideC, batchCount);
    }
}
