using System.Globalization;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>One CUDA device as <c>convnet info</c> shows it.</summary>
internal sealed record CudaDeviceSummary(
    int Index, string Name, string ComputeCapability, long TotalMemoryBytes, int Multiprocessors);

/// <summary>What the CUDA probe found: devices and versions, or exactly why there are none; and the emulator's state.</summary>
internal sealed record CudaProbe(
    bool Available, IReadOnlyList<CudaDeviceSummary> Devices, string Reason, string DriverVersion, string CublasVersion,
    IReadOnlyList<string> Libraries, bool EmulatorAvailable, string EmulatorReason, string CublasSelection);

/// <summary>An opened backend and why it was chosen.</summary>
internal sealed record OpenedDevice(IBackend Backend, string Reason);

/// <summary>
/// Opens the backend --device asks for. auto takes CUDA GPU 0 when it works and otherwise the CPU, saying why;
/// an explicit cuda, cuda:N or cuda-emulated that cannot be opened is an error (exit code 5) with the driver's
/// reason, never a silent fallback.
/// </summary>
internal static class DeviceSelector
{
    /// <summary>
    /// Opens the requested backend; <paramref name="tf32"/> lets cuBLAS use TF32 tensor cores; <paramref name="cpuThreads"/>
    /// sets the CPU backend's threads (null: all cores).
    /// </summary>
    public static OpenedDevice Open(DeviceRequest request, bool tf32, int? cpuThreads = null)
    {
        var options = new CudaBackendOptions { AllowTf32 = tf32 };
        try
        {
            switch (request.Kind)
            {
                case DeviceKind.Cpu:
                    return new OpenedDevice(Backend.Cpu(cpuThreads), "requested with --device cpu");
                case DeviceKind.Auto:
                    IBackend chosen = Backend.Default(options);
                    if (cpuThreads is int threads && chosen is ConvNet.Gpu.Backends.Cpu.CpuBackend)
                    {
                        string reason = chosen.SelectionReason;
                        chosen.Dispose();
                        return new OpenedDevice(Backend.Cpu(threads), $"--device auto: {reason}; {threads} thread(s)");
                    }
                    return new OpenedDevice(chosen, $"--device auto: {chosen.SelectionReason}");
                case DeviceKind.Cuda:
                    CudaBackend cuda = Backend.Cuda(request.CudaIndex, options);
                    return new OpenedDevice(cuda, $"requested with --device {request}; compute capability {cuda.DeviceInfo.ComputeCapability}, "
                        + $"{cuda.DeviceInfo.TotalMemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB, driver {cuda.DeviceInfo.DriverVersionText}, TF32 {(tf32 ? "on" : "off")}");
                default:
                    return new OpenedDevice(Backend.CudaEmulated(options), "requested with --device cuda-emulated (the CUDA backend's kernels run on the host; slow, for testing)");
            }
        }
        catch (CudaUnavailableException ex)
        {
            string alternative = request.Kind == DeviceKind.CudaEmulated ? "" : " Use --device cpu, or --device cuda-emulated to run the CUDA code path on the host.";
            throw CliException.DeviceError($"--device {request}: {ex.Message}.{alternative}", ex);
        }
        catch (CudaException ex)
        {
            throw CliException.DeviceError($"--device {request}: the CUDA device failed to start: {ex.Message}", ex);
        }
    }

    /// <summary>Enumerates CUDA devices and versions without creating a context.</summary>
    public static CudaProbe Probe()
    {
        CudaAvailability a = Backend.QueryCuda();
        return new CudaProbe(
            a.IsAvailable,
            a.Devices.Select(d => new CudaDeviceSummary(d.Index, d.Name, d.ComputeCapability, d.TotalMemoryBytes, d.MultiprocessorCount)).ToList(),
            a.Reason ?? "",
            a.DriverVersion > 0 ? string.Create(CultureInfo.InvariantCulture, $"{a.DriverVersion / 1000}.{a.DriverVersion % 1000 / 10}") : "n/a",
            a.CublasVersion > 0 ? FormatCublas(a.CublasVersion) : "n/a",
            a.LoadedLibraries,
            a.IsEmulatorAvailable,
            a.EmulatorReason ?? "",
            a.CublasSelection ?? "");
    }

    /// <summary>cuBLAS reports major*10000 + minor*100 + patch, e.g. 130100 is 13.1.0.</summary>
    private static string FormatCublas(int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{version / 10000}.{version / 100 % 100}.{version % 100} ({version})");
}
