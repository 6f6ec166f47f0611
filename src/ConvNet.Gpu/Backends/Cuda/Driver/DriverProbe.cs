using System.Text;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

/// <summary>
/// Checks, without creating a context, whether the CUDA driver and cuBLAS can be used here, and lists the devices.
/// Every failure becomes a precise reason: which library was not found (and the names tried), cuInit's error,
/// no device, or a driver too old for the embedded PTX.
/// </summary>
internal static unsafe class DriverProbe
{
    /// <summary>Loads libcuda and calls cuInit; returns null on success, else why not.</summary>
    public static string? InitializeDriver(out int driverVersion)
    {
        driverVersion = 0;
        var cuda = NativeLibraries.Load(NativeLibraries.Cuda);
        if (!cuda.Loaded) return cuda.Describe(cuda.Tried[0]);
        int result = CudaDriver.cuInit(0);
        if (result == CuResult.NoDevice) return "no CUDA device found (cuInit: CUDA_ERROR_NO_DEVICE)";
        if (result != CuResult.Success)
            return $"cuInit failed: {CudaCheck.ErrorName(result)} ({result}): {CudaCheck.ErrorString(result)}";
        result = CudaDriver.cuDriverGetVersion(out driverVersion);
        if (result != CuResult.Success)
            return $"cuDriverGetVersion failed: {CudaCheck.ErrorName(result)} ({result})";
        return null;
    }

    /// <summary>
    /// Chooses and loads the cuBLAS this driver can run (<see cref="CublasSelection"/>) for a GPU of compute capability
    /// <paramref name="computeCapability"/> (10 * major + minor). Returns the choice: the file, its version and why it
    /// was chosen, or why no cuBLAS is usable (then <c>Loaded</c> is false and <c>Reason</c> is the explanation).
    /// </summary>
    public static CublasSelection.Choice LoadCublas(int driverVersion, int computeCapability) =>
        NativeLibraries.SelectCublas(driverVersion, computeCapability);

    /// <summary>
    /// Null when <paramref name="device"/> can run an embedded PTX target and the driver can JIT-compile its modules,
    /// else why not (a compute capability below 7.0, or a driver too old for the PTX ISA).
    /// </summary>
    public static string? CheckPtxAgainstDriver(CudaDeviceInfo device, int driverVersion)
    {
        if (EmbeddedPtx.TargetFor(device.ComputeCapabilityMajor, device.ComputeCapabilityMinor) is null)
            return $"{device.Name} has compute capability {device.ComputeCapability}, below 7.0, the lowest target of the embedded PTX (sm_70)";
        return CheckPtxAgainstDriver(EmbeddedPtx.LoadFor(device.PtxTarget), driverVersion);
    }

    /// <summary>Null when every module of <paramref name="modules"/> can be JIT-compiled by this driver, else the mismatch.</summary>
    public static string? CheckPtxAgainstDriver(IReadOnlyList<EmbeddedPtx> modules, int driverVersion)
    {
        foreach (var module in modules)
            if (module.RequiredDriverVersion > driverVersion)
                return $"driver too old for the PTX: {module.ResourceName} is PTX ISA {module.Isa}, which needs a driver for CUDA "
                       + $"{CudaDeviceInfo.FormatCudaVersion(module.RequiredDriverVersion)} or newer, but this driver supports CUDA "
                       + $"{CudaDeviceInfo.FormatCudaVersion(driverVersion)}; update the NVIDIA driver";
        return null;
    }

    /// <summary>Device facts for <paramref name="ordinal"/> (driver initialized; cuBLAS facts are filled in by the caller).</summary>
    public static CudaDeviceInfo Describe(int ordinal, int driverVersion)
    {
        CudaCheck.Driver(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        byte* name = stackalloc byte[256];
        CudaCheck.Driver(CudaDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        CudaCheck.Driver(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.cuDeviceGetAttribute(out int sms, CudaDriver.AttributeMultiprocessorCount, device), "cuDeviceGetAttribute");
        CudaCheck.Driver(CudaDriver.cuDeviceTotalMem_v2(out nuint total, device), "cuDeviceTotalMem_v2");
        string text = Encoding.UTF8.GetString(name, new ReadOnlySpan<byte>(name, 256).IndexOf((byte)0) is var n and >= 0 ? n : 256);
        return new CudaDeviceInfo(ordinal, text, major, minor, (long)total, sms, driverVersion, CublasVersion: 0,
            NativeLibraries.LoadedFiles(), IsEmulated: false) { PtxTarget = EmbeddedPtx.TargetFor(major, minor) ?? 0 };
    }
}
