using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// CUDA backends for the suites: the emulated device (CI) and a real GPU. When one cannot be created the constructor of
/// the test class calls <c>Assert.Skip</c> with the reason, which skips every test of that class with the reason shown.
/// Each backend comes paired with a CPU reference (<see cref="TestBackends.ForCuda"/>).
/// </summary>
internal static class CudaTestBackends
{
    /// <summary>
    /// Options for the emulated device: no memory pool, so every tensor and workspace is its own allocation and the
    /// emulator bounds-checks each access against the true buffer size (a pooled block may be larger than asked for).
    /// Block 64 keeps the fiber count per block small.
    /// </summary>
    public static CudaBackendOptions EmulatedOptions { get; } = new() { UseMemoryPool = false, BlockSize = 64 };

    /// <summary>The emulated CUDA backend with <paramref name="options"/> (default <see cref="EmulatedOptions"/>), judged against the CPU.</summary>
    public static BackendUnderTest Emulated(CudaBackendOptions? options = null) =>
        TestBackends.ForCuda(CreateEmulated(options ?? EmulatedOptions), Backend.Cpu(TestBackends.CpuThreads));

    /// <summary>
    /// Options for a real GPU. <c>CONVNET_CUDA_POOL=0</c> turns the caching pool off so compute-sanitizer memcheck sees
    /// the true bounds of every buffer (gpu-host.md); otherwise the defaults are used, as users get them.
    /// </summary>
    public static CudaBackendOptions GpuOptions =>
        Environment.GetEnvironmentVariable("CONVNET_CUDA_POOL") == "0" ? new() { UseMemoryPool = false } : new();

    /// <summary>The CUDA backend on GPU 0, judged against the CPU; skips when no GPU is usable.</summary>
    public static BackendUnderTest Gpu(CudaBackendOptions? options = null) =>
        TestBackends.ForCuda(CreateGpu(options ?? GpuOptions), Backend.Cpu(TestBackends.CpuThreads));

    /// <summary>
    /// The CUDA backend on GPU 0 with TF32 tensor cores allowed for cuBLAS, judged at the TF32 tolerances (1e-3 / 1e-2 for conv
    /// and GEMM, PyTorch's tf32_on_and_off); skips when no GPU is usable.
    /// </summary>
    public static BackendUnderTest GpuTf32() =>
        TestBackends.ForCuda(CreateGpu(GpuOptions with { AllowTf32 = true }), Backend.Cpu(TestBackends.CpuThreads), tf32: true);

    /// <summary>
    /// A bare emulated CudaBackend (the caller disposes it) reporting <paramref name="computeCapability"/> (80: the sm_80
    /// kernels run; 70: only what an sm_70 GPU runs); skips the test when the emulator library is missing.
    /// </summary>
    public static CudaBackend CreateEmulated(CudaBackendOptions? options = null, int computeCapability = EmulatedCudaDevice.DefaultComputeCapability)
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
        return Backend.CudaEmulated(options ?? EmulatedOptions, null, computeCapability);
    }

    /// <summary>A bare CudaBackend on GPU 0 (the caller disposes it); skips the test with the reason when there is none.</summary>
    public static CudaBackend CreateGpu(CudaBackendOptions? options = null)
    {
        try
        {
            return Backend.Cuda(0, options ?? GpuOptions);
        }
        catch (CudaUnavailableException e)
        {
            Assert.Skip($"CUDA GPU unavailable: {e.Reason}");
            throw; // not reached: Assert.Skip throws
        }
    }
}
