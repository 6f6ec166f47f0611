using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>One CUDA device as <c>convnet info</c> shows it.</summary>
internal sealed record CudaDeviceSummary(
    int Index, string Name, string ComputeCapability, long TotalMemoryBytes, int Multiprocessors,
    string DriverVersion, string CublasVersion, IReadOnlyList<string> Libraries);

/// <summary>What the CUDA probe found: devices, or exactly why there are none.</summary>
internal sealed record CudaProbe(bool Available, IReadOnlyList<CudaDeviceSummary> Devices, string Reason, bool EmulatorAvailable, string EmulatorReason);

/// <summary>An opened backend and why it was chosen.</summary>
internal sealed record OpenedDevice(IBackend Backend, string Reason);

/// <summary>
/// Opens the backend --device asks for. auto prefers a working CUDA GPU and otherwise uses the CPU, saying why;
/// an explicit cuda or cuda:N that cannot be opened is an error (exit code 5) with the driver's reason, never a
/// silent fallback.
/// </summary>
internal static class DeviceSelector
{
    /// <summary>Opens the requested backend; <paramref name="tf32"/> lets cuBLAS use TF32 tensor cores.</summary>
    public static OpenedDevice Open(DeviceRequest request, bool tf32)
    {
        switch (request.Kind)
        {
            case DeviceKind.Cpu:
                return new OpenedDevice(Backend.Cpu(), "requested with --device cpu");
            case DeviceKind.Auto:
            {
                CudaProbe probe = Probe();
                if (!probe.Available)
                    return new OpenedDevice(Backend.Cpu(), $"--device auto: no usable CUDA GPU ({probe.Reason}), so the CPU backend");
                return OpenCuda(0, tf32, $"--device auto: CUDA GPU 0 of {probe.Devices.Count} found");
            }
            case DeviceKind.Cuda:
                return OpenCuda(request.CudaIndex, tf32, $"requested with --device cuda:{request.CudaIndex}");
            default:
                return OpenEmulated(tf32);
        }
    }

    /// <summary>Enumerates CUDA devices without opening a backend.</summary>
    public static CudaProbe Probe() =>
        new(false, [], "this build of ConvNet.Gpu has no CUDA backend yet", false, "this build of ConvNet.Gpu has no emulated CUDA device yet");

    private static OpenedDevice OpenCuda(int index, bool tf32, string reason)
    {
        _ = tf32;
        CudaProbe probe = Probe();
        if (!probe.Available) throw CliException.DeviceError($"CUDA device {index} is not available: {probe.Reason}. Use --device cpu (or auto).");
        throw CliException.DeviceError($"CUDA device {index} cannot be opened ({reason}).");
    }

    private static OpenedDevice OpenEmulated(bool tf32)
    {
        _ = tf32;
        CudaProbe probe = Probe();
        throw CliException.DeviceError($"the emulated CUDA device is not available: {probe.EmulatorReason}.");
    }
}
