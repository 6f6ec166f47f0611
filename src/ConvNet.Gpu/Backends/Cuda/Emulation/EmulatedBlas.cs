using ConvNet.Gpu.Backends.Cpu;

namespace ConvNet.Gpu.Backends.Cuda.Emulation;

/// <summary>
/// cuBLAS SGEMM semantics on host memory for the emulated device. cuBLAS is column-major: a column-major
/// (m x n, ldc) matrix is the row-major (n x m, ldc) matrix of its transpose, so C = op(A) op(B) becomes the
/// row-major product C^T = op(B)^T op(A)^T, i.e. a row-major SGEMM with the operands and their flags swapped.
/// The row-major SGEMM is the CPU backend's packed SIMD engine.
/// </summary>
internal static unsafe class EmulatedBlas
{
    /// <summary>Column-major C(m x n) = alpha op(A) op(B) + beta C, as cublasSgemm_v2 (beta = 0 ignores C's contents).</summary>
    public static void ColumnMajorSgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? parallel) =>
        RowMajorSgemm(transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, parallel);

    /// <summary>Row-major C(m x n, ldc) = alpha op(A) op(B) + beta C.</summary>
    private static void RowMajorSgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? parallel) =>
        CpuBackend.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel);
}
