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
    public static BackendUnderTest ForCuda(IBackend cuda, IBackend cpuReference, bool tf32 = false) =>
        new(cuda, cpuReference,
            kind => kind == OpKind.Matmul && tf32 ? Tolerance.CudaVsCpuTf32 : CpuVsFloat64(kind),
            kind => kind == OpKind.Matmul && tf32 ? Tolerance.CudaVsCpuTf32 : Tolerance.CudaVsCpuFp32,
            ownsBackends: true);

    /// <summary>Float32 against float64: 1e-4 / 1e-4 for every non-exact op (testing.md's conv/GEMM row, used for all arithmetic).</summary>
    public static Tolerance CpuVsFloat64(OpKind kind) => kind == OpKind.Exact ? Tolerance.Exact : Tolerance.Float32VsFloat64;
}
