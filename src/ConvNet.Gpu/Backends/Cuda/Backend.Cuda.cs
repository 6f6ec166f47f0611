using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Emulation;

namespace ConvNet.Gpu;

public static partial class Backend
{
    /// <summary>
    /// The CUDA backend on GPU <paramref name="index"/>. Throws <see cref="CudaUnavailableException"/> saying exactly
    /// why when it cannot be had: libcuda missing (with the names tried), no device, index out of range, a driver too
    /// old for the embedded PTX, no cuBLAS the driver can run (with the names tried and skipped), or a cuBLAS that
    /// fails to initialize. The cuBLAS major follows the driver (cuDriverGetVersion): a CUDA 13 driver takes
    /// libcublas.so.13, a CUDA 12 driver libcublas.so.12, and so on; <see cref="CudaDeviceInfo.CublasSelection"/> says
    /// which file loaded and why. Never falls back to the CPU.
    /// </summary>
    public static CudaBackend Cuda(int index = 0, CudaBackendOptions? options = null)
    {
        var device = DriverCudaDevice.Open(index);
        return CreateCudaBackend(device, options);
    }

    /// <summary>
    /// The CUDA backend on the emulated device: the same kernels compiled for the host (bounds-checked device
    /// memory, real barrier semantics), cuBLAS replaced by the CPU SGEMM. For tests and debugging without a GPU.
    /// Throws <see cref="CudaUnavailableException"/> when the emulator library (libconvnet_cuda_emu.so) is missing.
    /// </summary>
    public static CudaBackend CudaEmulated(CudaBackendOptions? options = null) => CudaEmulated(options, memoryLimitBytes: null);

    /// <summary>
    /// The emulated CUDA backend with a cap on its "device" memory (to test out-of-memory handling) and the compute
    /// capability it reports (10 * major + minor; 70 leaves out the sm_80 kernels, as an sm_70 GPU would).
    /// </summary>
    internal static CudaBackend CudaEmulated(CudaBackendOptions? options, long? memoryLimitBytes,
        int computeCapability = EmulatedCudaDevice.DefaultComputeCapability) =>
        CreateCudaBackend(EmulatedCudaDevice.Open(memoryLimitBytes, computeCapability: computeCapability), options);

    /// <summary>
    /// CUDA device 0 when it is available, else the CPU backend. <see cref="IBackend.SelectionReason"/> says which
    /// and why, e.g. "CUDA unavailable: libcuda.so.1 not found (tried libcuda.so.1, libcuda.so); using CPU".
    /// Only an unavailable CUDA (<see cref="CudaUnavailableException"/>) leads to the CPU; a CUDA that is present but
    /// fails is reported as the exception.
    /// </summary>
    public static IBackend Default(CudaBackendOptions? options = null)
    {
        try
        {
            var cuda = Cuda(0, options);
            var info = cuda.DeviceInfo;
            cuda.SelectionReason = $"CUDA available: {info.Name} (compute capability {info.ComputeCapability}, driver "
                                   + $"{info.DriverVersionText}, cuBLAS {info.CublasVersion} from {info.CublasLibrary}); chosen by Backend.Default()";
            return cuda;
        }
        catch (CudaUnavailableException e)
        {
            var cpu = Cpu();
            cpu.SelectionReason = $"CUDA unavailable: {e.Reason}; using CPU";
            return cpu;
        }
    }

    /// <summary>What CUDA can be used here (devices, driver and cuBLAS versions, loaded files), or why not. Creates no context.</summary>
    public static CudaAvailability QueryCuda() => CudaAvailability.Query();

    /// <summary>The CUDA devices the driver enumerates (empty when CUDA is unavailable; see <see cref="QueryCuda"/> for why).</summary>
    public static IReadOnlyList<CudaDeviceInfo> ListCudaDevices() => QueryCuda().Devices;

    private static CudaBackend CreateCudaBackend(ICudaDevice device, CudaBackendOptions? options)
    {
        try
        {
            return new CudaBackend(device, options ?? new CudaBackendOptions());
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
