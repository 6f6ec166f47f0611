namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>Static facts about one CUDA device (real or emulated), as reported by the driver and cuBLAS.</summary>
/// <param name="Index">Ordinal of the device in the driver's enumeration (0 for the emulated device).</param>
/// <param name="Name">Device name, e.g. "NVIDIA H100 80GB HBM3", or "CUDA (emulated)".</param>
/// <param name="ComputeCapabilityMajor">Compute capability major version, e.g. 9 for sm_90.</param>
/// <param name="ComputeCapabilityMinor">Compute capability minor version.</param>
/// <param name="TotalMemoryBytes">Total device memory in bytes.</param>
/// <param name="MultiprocessorCount">Number of streaming multiprocessors.</param>
/// <param name="DriverVersion">Driver API version as <c>cuDriverGetVersion</c> reports it, e.g. 13000 for CUDA 13.0 (0 when emulated).</param>
/// <param name="CublasVersion">cuBLAS version as <c>cublasGetVersion</c> reports it, e.g. 130000 (0 when emulated).</param>
/// <param name="LoadedLibraries">Full paths or names of the native libraries actually loaded (libcuda, libcublas, or the emulator).</param>
/// <param name="IsEmulated">True for the emulated device (kernels compiled for the host).</param>
public sealed record CudaDeviceInfo(
    int Index,
    string Name,
    int ComputeCapabilityMajor,
    int ComputeCapabilityMinor,
    long TotalMemoryBytes,
    int MultiprocessorCount,
    int DriverVersion,
    int CublasVersion,
    IReadOnlyList<string> LoadedLibraries,
    bool IsEmulated)
{
    /// <summary>
    /// The embedded PTX target whose kernels this device runs: 80 (sm_80, from compute capability 8.0 on: the
    /// tensor-core and cp.async kernels) or 70 (sm_70); 0 when the device can run none. For the emulated device, the
    /// target it emulates (its kernels are host code).
    /// </summary>
    public int PtxTarget { get; init; }

    /// <summary>The cuBLAS file loaded for this device (a full path when the loader says which), or null (emulated, or none usable).</summary>
    public string? CublasLibrary { get; init; }

    /// <summary>Why that cuBLAS was chosen for the driver (or why none is usable); null when emulated.</summary>
    public string? CublasSelection { get; init; }

    /// <summary>This record with the cuBLAS facts of <paramref name="choice"/>.</summary>
    internal CudaDeviceInfo WithCublas(Driver.CublasSelection.Choice choice) =>
        this with
        {
            CublasVersion = choice.Version, CublasLibrary = choice.File, CublasSelection = choice.Reason,
            LoadedLibraries = Interop.NativeLibraries.LoadedFiles(),
        };

    /// <summary>Compute capability as text, e.g. "9.0".</summary>
    public string ComputeCapability => $"{ComputeCapabilityMajor}.{ComputeCapabilityMinor}";

    /// <summary>Driver version as text, e.g. "13.0" (or "n/a" when emulated).</summary>
    public string DriverVersionText => FormatCudaVersion(DriverVersion);

    /// <summary>One-line summary for logs and <c>convnet info</c>.</summary>
    public override string ToString() => IsEmulated
        ? $"{Name}: emulates compute capability {ComputeCapability} (sm_{PtxTarget} kernels), host memory limit "
          + $"{TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, emulator {string.Join(", ", LoadedLibraries)}"
        : $"[{Index}] {Name}: compute capability {ComputeCapability}, {TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, "
          + $"{MultiprocessorCount} SMs, driver {DriverVersionText}, cuBLAS {CublasVersion}, "
          + (PtxTarget > 0 ? $"PTX sm_{PtxTarget}" : "no PTX target (compute capability below 7.0)");

    /// <summary>Formats a CUDA version integer (1000 * major + 10 * minor) as "major.minor".</summary>
    internal static string FormatCudaVersion(int version) =>
        version <= 0 ? "n/a" : $"{version / 1000}.{version % 1000 / 10}";
}
