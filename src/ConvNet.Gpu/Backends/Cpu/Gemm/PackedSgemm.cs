using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>Which micro-kernel family a GEMM runs (tests force each one; production uses <see cref="PackedSgemm.BestKernel"/>).</summary>
internal enum SgemmKernelKind
{
    /// <summary>12 x 32 tiles with AVX-512F FMA.</summary>
    Avx512,
    /// <summary>6 x 16 tiles with AVX2 + FMA3.</summary>
    Avx2,
    /// <summary>4 x 8 tiles with Vector128 multiply-add; runs anywhere.</summary>
    Portable,
}

/// <summary>
/// Packed, cache-blocked, multithreaded single-precision GEMM on raw pointers:
/// row-major C (m x n, ldc) = alpha * op(A) * op(B) + beta * C, with op(A) m x k and op(B) k x n.
/// A is stored (m x k, lda) or, when transposed, (k x m, lda); B is (k x n, ldb) or (n x k, ldb).
/// beta = 0 never reads C. This is the engine behind CpuBackend.Gemm, the convolutions and the emulated cuBLAS.
/// </summary>
internal static unsafe class PackedSgemm
{
    /// <summary>Below this many FLOPs (2mnk) one thread is faster than waking a second one.</summary>
    private const double ParallelFlopThreshold = 2e6;

    /// <summary>The fastest kernel this CPU supports.</summary>
    public static SgemmKernelKind BestKernel { get; } =
        Avx512Kernel.IsSupported ? SgemmKernelKind.Avx512 :
        Avx2Kernel.IsSupported ? SgemmKernelKind.Avx2 : SgemmKernelKind.Portable;

    /// <summary>
    /// C = alpha op(A) op(B) + beta C. Runs on up to <c>par.MaxDegreeOfParallelism</c> threads by splitting C into
    /// disjoint column (or row) ranges, so no two threads write the same element and results do not depend on
    /// scheduling; <paramref name="par"/> null runs on the calling thread only (for callers that already parallelize).
    /// m, n or k may be 0 (k = 0 or alpha = 0 just scales C by beta).
    /// </summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? par) =>
        Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, par, BestKernel);

    /// <summary>As <see cref="Run(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int, ParallelOptions?)"/>
    /// with an explicit kernel family (must be supported by this CPU).</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, ParallelOptions? par, SgemmKernelKind kernel)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        int threads = ThreadsFor(par, 2.0 * m * n * k);
        int mr = MR(kernel), nr = NR(kernel);
        // Split whichever dimension has more register tiles into equal, tile-aligned ranges.
        bool splitN = (n + nr - 1) / nr >= (m + mr - 1) / mr;
        int tiles = splitN ? (n + nr - 1) / nr : (m + mr - 1) / mr;
        threads = Math.Min(threads, tiles);
        if (threads <= 1)
        {
            RunOne(kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        Parallel.For(0, threads, par!, t =>
        {
            int lo = (int)((long)tiles * t / threads), hi = (int)((long)tiles * (t + 1) / threads);
            if (splitN)
            {
                int j0 = lo * nr, j1 = Math.Min(n, hi * nr);
                float* bSub = transB ? b + (long)j0 * ldb : b + j0;
                RunOne(kernel, transA, transB, m, j1 - j0, k, alpha, a, lda, bSub, ldb, beta, c + j0, ldc);
            }
            else
            {
                int i0 = lo * mr, i1 = Math.Min(m, hi * mr);
                float* aSub = transA ? a + i0 : a + (long)i0 * lda;
                RunOne(kernel, transA, transB, i1 - i0, n, k, alpha, aSub, lda, b, ldb, beta, c + (long)i0 * ldc, ldc);
            }
        });
    }

    /// <summary>
    /// <paramref name="batch"/> independent GEMMs with element strides between consecutive A, B and C matrices
    /// (a stride of 0 reuses one matrix). Small matrices run one whole GEMM per thread; large ones run one after another,
    /// each on every thread.
    /// </summary>
    public static void RunStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC,
        int batch, ParallelOptions? par)
    {
        if (batch <= 0) return;
        double flops = 2.0 * m * n * k;
        int threads = par is null ? 1 : Math.Min(batch, ThreadsFor(par, flops * batch));
        // Batch-level parallelism when each GEMM alone is too small to split well, or the batch divides evenly.
        bool perMatrix = threads > 1 && (flops < 64 * ParallelFlopThreshold || batch % threads == 0);
        if (!perMatrix)
        {
            for (int i = 0; i < batch; i++)
                Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, par);
            return;
        }
        Parallel.For(0, threads, par!, t =>
        {
            int lo = (int)((long)batch * t / threads), hi = (int)((long)batch * (t + 1) / threads);
            for (int i = lo; i < hi; i++)
                Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, null);
        });
    }

    /// <summary>Threads worth using for <paramref name="flops"/> of work under <paramref name="par"/>.</summary>
    private static int ThreadsFor(ParallelOptions? par, double flops)
    {
        if (par is null) return 1;
        int max = par.MaxDegreeOfParallelism > 0 ? par.MaxDegreeOfParallelism : Environment.ProcessorCount;
        return (int)Math.Clamp(flops / ParallelFlopThreshold, 1, max);
    }

    private static void RunOne(SgemmKernelKind kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        var scratch = SgemmScratch.Rent();
        try
        {
            switch (kernel)
            {
                case SgemmKernelKind.Avx512:
                    SgemmDriver.Run<Avx512Kernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch);
                    break;
                case SgemmKernelKind.Avx2:
                    SgemmDriver.Run<Avx2Kernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch);
                    break;
                default:
                    SgemmDriver.Run<PortableKernel>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch);
                    break;
            }
        }
        finally
        {
            SgemmScratch.Return(scratch);
        }
    }

    /// <summary>
    /// Multiply-adds the best kernel issues for an m x n product per reduction step, counting the padding of ragged
    /// tiles (m rounded up to MR, n to NR): lets callers pick the orientation (C or C^T) that wastes fewer lanes.
    /// </summary>
    public static long PaddedTileWork(int m, int n)
    {
        int mr = MR(BestKernel), nr = NR(BestKernel);
        return (long)((m + mr - 1) / mr * mr) * ((n + nr - 1) / nr * nr);
    }

    /// <summary>Whether <paramref name="kernel"/> can run on this CPU.</summary>
    public static bool IsSupported(SgemmKernelKind kernel) => kernel switch
    {
        SgemmKernelKind.Avx512 => Avx512Kernel.IsSupported,
        SgemmKernelKind.Avx2 => Avx2Kernel.IsSupported,
        _ => true,
    };

    private static int MR(SgemmKernelKind kernel) => kernel switch
    {
        SgemmKernelKind.Avx512 => Avx512Kernel.MR,
        SgemmKernelKind.Avx2 => Avx2Kernel.MR,
        _ => PortableKernel.MR,
    };

    private static int NR(SgemmKernelKind kernel) => kernel switch
    {
        SgemmKernelKind.Avx512 => Avx512Kernel.NR,
        SgemmKernelKind.Avx2 => Avx2Kernel.NR,
        _ => PortableKernel.NR,
    };

    /// <summary>C = beta * C (beta = 0 writes zeros without reading C).</summary>
    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}
