using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// What CUDA can be used on this machine, and why not: the devices (name, compute capability, memory, SMs), the
/// driver and cuBLAS versions, the native files loaded, and whether the emulated device is available.
/// Obtain it with <see cref="Backend.QueryCuda"/>; it creates no context.
/// </summary>
/// <param name="IsAvailable">True when <see cref="Backend.Cuda"/> can open at least device 0.</param>
/// <param name="Reason">Why CUDA is unavailable (null when available), e.g. "libcuda.so.1 not found (tried libcuda.so.1, libcuda.so)".</param>
/// <param name="DriverVersion">cuDriverGetVersion, e.g. 13000 (0 when the driver could not be loaded).</param>
/// <param name="CublasVersion">cuBLAS version, major * 10000 + minor * 100 + patch (0 when cuBLAS could not be loaded).</param>
/// <param name="Devices">Every device the driver enumerates (empty when none or unavailable).</param>
/// <param name="LoadedLibraries">Native files loaded so far (libcuda, libcublas, the emulator).</param>
/// <param name="EmulatorReason">Why the emulated device is unavailable, or null when <see cref="Backend.CudaEmulated(CudaBackendOptions?)"/> works.</param>
public sealed record CudaAvailability(
    bool IsAvailable,
    string? Reason,
    int DriverVersion,
    int CublasVersion,
    IReadOnlyList<CudaDeviceInfo> Devices,
    IReadOnlyList<string> LoadedLibraries,
    string? EmulatorReason)
{
    /// <summary>True when the emulated CUDA device can be created.</summary>
    public bool IsEmulatorAvailable => EmulatorReason is null;

    /// <summary>
    /// Which cuBLAS file was chosen for this driver and why (e.g. "libcublas.so.12 (cuBLAS 12.8.4, /usr/lib/...): the newest
    /// cuBLAS a CUDA 12.8 driver runs; skipped cuBLAS 13 (needs a CUDA 13 driver)"), or why none is usable; null when
    /// the driver or the devices could not be queried.
    /// </summary>
    public string? CublasSelection { get; init; }

    /// <summary>Probes the driver, the devices, the embedded PTX against the driver, cuBLAS and the emulator.</summary>
    internal static CudaAvailability Query()
    {
        string? emulatorReason = EmulatedCudaDevice.UnavailableReason();
        string? reason = DriverProbe.InitializeDriver(out int driverVersion);
        int cublasVersion = 0;
        string? cublasSelection = null;
        var devices = new List<CudaDeviceInfo>();
        if (reason is null)
        {
            int result = CudaDriver.cuDeviceGetCount(out int count);
            if (result != CuResult.Success) reason = $"cuDeviceGetCount failed: {CudaCheck.ErrorName(result)}";
            else if (count == 0) reason = "no CUDA device found (cuDeviceGetCount returned 0)";
            else
            {
                for (int i = 0; i < count; i++) devices.Add(DriverProbe.Describe(i, driverVersion));
                var blas = DriverProbe.LoadCublas(driverVersion, devices[0].ComputeCapabilityMajor * 10 + devices[0].ComputeCapabilityMinor);
                cublasVersion = blas.Version;
                cublasSelection = blas.Reason;
                devices = devices.Select(d => d.WithCublas(blas)).ToList();
                reason = DriverProbe.CheckPtxAgainstDriver(devices[0], driverVersion)
                         ?? (blas.Loaded ? null : $"cuBLAS unusable: {blas.Reason}");
            }
        }
        return new CudaAvailability(reason is null, reason, driverVersion, cublasVersion, devices, NativeLibraries.LoadedFiles(), emulatorReason)
        {
            CublasSelection = cublasSelection,
        };
    }

    /// <summary>Multi-line report for <c>convnet info</c>.</summary>
    public override string ToString()
    {
        var lines = new List<string>
        {
            IsAvailable ? "CUDA: available" : $"CUDA: unavailable: {Reason}",
            $"  driver: {CudaDeviceInfo.FormatCudaVersion(DriverVersion)}, cuBLAS: {(CublasVersion > 0 ? Driver.CublasSelection.FormatVersion(CublasVersion) : "n/a")}",
        };
        if (CublasSelection is not null) lines.Add($"  cuBLAS choice: {CublasSelection}");
        foreach (var device in Devices) lines.Add($"  {device}");
        lines.Add($"  loaded: {(LoadedLibraries.Count == 0 ? "(none)" : string.Join(", ", LoadedLibraries))}");
        lines.Add(EmulatorReason is null ? "CUDA (emulated): available" : $"CUDA (emulated): unavailable: {EmulatorReason}");
        return string.Join(Environment.NewLine, lines);
    }
}
