namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// Factory of <see cref="BackendUnderTest"/> objects for the backend-parameterized suites in Ops/.
/// <para>
/// Hook for CUDA (tests/ConvNet.Gpu.Tests/Cuda/, owned by the CUDA helpers): for each abstract suite, add a subclass such as
/// <code>
/// public sealed class ConvOps_CudaEmulated() : ConvOpsSuite(CudaTestBackends.Emulated());
/// </code>
/// where the factory returns <see cref="ForCuda"/>(cudaBackend, Backend.Cpu()) and, when the device cannot be had, calls
/// <c>Assert.Skip(reason)</c> (xunit.v3: a skip thrown from the constructor skips every test of the class, with the reason shown).
/// <see cref="ForCuda"/> compares every CUDA result with the float64 reference and with CpuBackend on the same inputs, at the
/// CUDA-vs-CPU tolerances of testing.md (FP32; pass <c>tf32: true</c> when TF32 math is on).
/// </para>
/// </summary>
public static class TestBackends
{
    /// <summary>Threads for the CPU backend under test: 2, so the parallel partitioning is exercised even on small machines.</summary>
    public const int CpuThreads = 2;

    /// <summary>The CPU backend, judged against the float64 reference (1e-4 / 1e-4, testing.md).</summary>
    public static BackendUnderTest Cpu() => Cpu(CpuThreads);

    /// <summary>The CPU backend with <paramref name="threads"/> worker threads (1 exercises the serial paths).</summary>
    public static BackendUnderTest Cpu(int threads) =>
        new(Backend.Cpu(threads), null, CpuVsFloat64, null, ownsBackends: true);

    /// <summary>
    /// A CUDA backend judged against the float64 reference and against <paramref name="cpuReference"/>, with the CUDA-vs-CPU
    /// tolerances (1e-5 for FP32; 1e-3 / 1e-2 for conv and GEMM with TF32). Both backends are disposed with the result.
    /// </summary>
    /// <param name="cuda">The CUDA backend under test.</param>
    /// <param name="cpuReference">The CPU backend it is compared with.</param>
    /// <param name="tf32">Whether TF32 math is on.</param>
    /// <param name="tf32ReductionLength">With TF32: the longest sum of products the suite's conv/GEMM outputs hold, which
    /// widens atol (<see cref="Tolerance.CudaVsCpuTf32ForReduction"/>); null keeps testing.md's 1e-3 / 1e-2.</param>
    public static BackendUnderTest ForCuda(IBackend cuda, IBackend cpuReference, bool tf32 = false, long? tf32ReductionLength = null)
    {
        var tf32Tolerance = tf32ReductionLength is { } n ? Tolerance.CudaVsCpuTf32ForReduction(n) : Tolerance.CudaVsCpuTf32;
        return new(cuda, cpuReference,
            kind => kind == OpKind.Matmul && tf32 ? tf32Tolerance : CpuVsFloat64(kind),
            kind => kind != OpKind.Matmul ? Tolerance.CudaVsCpuFp32 : tf32 ? tf32Tolerance : MatmulCudaVsCpuFp32,
            ownsBackends: true);
    }

    /// <summary>
    /// CUDA vs CPU for conv/GEMM outputs with FP32 math: testing.md's 1e-5, grown with the reduction length as it allows.
    /// The suites' conv weight gradients sum up to ~1,300 products of O(1) values (N*OH*OW), and the two backends sum them
    /// in different orders (the CPU in per-thread chunks, cuBLAS in one pass), so results of magnitude ~0.2 legitimately differ
    /// by ~1e-5 (seen: 1.3e-5 at k = 646). 1e-4 keeps a 10x margin and still fails any indexing error, which is O(1).
    /// </summary>
    public static Tolerance MatmulCudaVsCpuFp32 => Tolerance.CudaVsCpuFp32.Times(10);

    /// <summary>Float32 against float64: 1e-4 / 1e-4 for every non-exact op (testing.md's conv/GEMM row, used for all arithmetic).</summary>
    public static Tolerance CpuVsFloat64(OpKind kind) => kind == OpKind.Exact ? Tolerance.Exact : Tolerance.Float32VsFloat64;
}
