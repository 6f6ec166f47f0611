using System.Reflection;
using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>
/// Resolves the native libraries behind our LibraryImport declarations and remembers which files loaded.
/// Logical names: <see cref="Cuda"/> (libcuda.so.1, then libcuda.so), <see cref="Cublas"/> (chosen for the driver by
/// <see cref="SelectCublas"/>, which must run before any cuBLAS call: see <see cref="Driver.CublasSelection"/>) and
/// <see cref="Emulator"/> (libconvnet_cuda_emu.so next to the assembly or the app).
/// A failed resolution keeps the list of names tried, so errors can say exactly what was looked for.
/// </summary>
internal static unsafe class NativeLibraries
{
    /// <summary>Logical name of the CUDA driver library in LibraryImport declarations.</summary>
    public const string Cuda = "cuda";

    /// <summary>Logical name of cuBLAS in LibraryImport declarations.</summary>
    public const string Cublas = "cublas";

    /// <summary>Logical name of the emulated-device library in LibraryImport declarations.</summary>
    public const string Emulator = "convnet_cuda_emu";

    /// <summary>Logical name of the MPI library (Open MPI's libmpi.so.40) in LibraryImport declarations (Distributed).</summary>
    public const string Mpi = "mpi";

    /// <summary>Logical name of NCCL (libnccl.so.2) in LibraryImport declarations (Distributed).</summary>
    public const string Nccl = "nccl";

    /// <summary>File name of the emulated-device library.</summary>
    public const string EmulatorFileName = "libconvnet_cuda_emu.so";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, LoadResult> Results = new();
    private static int _resolverInstalled;
    private static Driver.CublasSelection.Choice? _cublas;

    /// <summary>The outcome of resolving one logical library.</summary>
    /// <param name="Handle">The loaded library, or 0.</param>
    /// <param name="Path">The name or path that loaded, or null.</param>
    /// <param name="Tried">Every name or path tried, in order.</param>
    internal readonly record struct LoadResult(nint Handle, string? Path, IReadOnlyList<string> Tried)
    {
        /// <summary>True when the library loaded.</summary>
        public bool Loaded => Handle != 0;

        /// <summary>"libcuda.so.1 not found (tried libcuda.so.1, libcuda.so)"-style text.</summary>
        public string Describe(string what) => Loaded
            ? $"{what} loaded from {Path}"
            : $"{what} not found (tried {string.Join(", ", Tried)})";
    }

    /// <summary>Installs the DllImport resolver for this assembly (idempotent; called by every binding class).</summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    /// <summary>
    /// Loads (once) the library with the given logical name and reports what happened. cuBLAS is never loaded here:
    /// until <see cref="SelectCublas"/> has chosen a file for the driver it reports "not loaded".
    /// </summary>
    public static LoadResult Load(string logicalName)
    {
        EnsureResolver();
        lock (Gate)
        {
            if (Results.TryGetValue(logicalName, out var cached)) return cached;
            if (logicalName == Cublas) return new LoadResult(0, null, ["(cuBLAS is chosen for the driver first: NativeLibraries.SelectCublas)"]);
            var result = TryCandidates(Candidates(logicalName));
            Results[logicalName] = result;
            return result;
        }
    }

    /// <summary>Paths of every library loaded so far through this resolver.</summary>
    public static IReadOnlyList<string> LoadedFiles()
    {
        lock (Gate)
        {
            var list = new List<string>();
            foreach (var (_, r) in Results)
                if (r.Loaded) list.Add(r.Path!);
            return list;
        }
    }

    /// <summary>
    /// Chooses and loads (once per process: the cuBLAS bindings bind to one file) the cuBLAS for a driver supporting CUDA
    /// <paramref name="driverVersion"/> on a GPU of compute capability <paramref name="computeCapability"/> (10 * major +
    /// minor), looking on the loader's path and then in $CUDA_HOME/lib64, $CUDA_PATH/lib64 and /usr/local/cuda/lib64.
    /// The choice says which file loaded and why, or why none could be used.
    /// </summary>
    public static Driver.CublasSelection.Choice SelectCublas(int driverVersion, int computeCapability)
    {
        EnsureResolver();
        lock (Gate)
        {
            if (_cublas is not null) return _cublas;
            var choice = Driver.CublasSelection.Select(driverVersion, computeCapability, CudaDirectories(), ProbeCublas,
                handle => NativeLibrary.Free(handle));
            _cublas = choice;
            Results[Cublas] = new LoadResult(choice.Handle, choice.File, choice.Tried);
            return choice;
        }
    }

    /// <summary>The names and paths tried, in order, for a logical library (cuBLAS: see <see cref="SelectCublas"/>).</summary>
    public static IReadOnlyList<string> Candidates(string logicalName) => logicalName switch
    {
        Cuda => OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"],
        Emulator => EmulatorCandidates(),
        Mpi => ["libmpi.so.40", "libmpi.so"],
        Nccl => NcclCandidates(),
        _ => [logicalName],
    };

    /// <summary>Loads one cuBLAS candidate and asks it for its version (cublasGetProperty needs no handle).</summary>
    internal static Driver.CublasSelection.Probe ProbeCublas(string candidate)
    {
        if (Path.IsPathRooted(candidate) && !File.Exists(candidate)) return new(0, 0, candidate, null);
        if (!NativeLibrary.TryLoad(candidate, out nint handle)) return new(0, 0, candidate, null);
        if (!NativeLibrary.TryGetExport(handle, "cublasGetProperty", out nint getProperty)
            || !NativeLibrary.TryGetExport(handle, "cublasCreate_v2", out _))
            return new(handle, 0, candidate, "it does not export cublasGetProperty and cublasCreate_v2 (not a cuBLAS v2 library)");
        var get = (delegate* unmanaged<int, int*, int>)getProperty;
        int major = 0, minor = 0, patch = 0;
        bool ok = get(0, &major) == 0 && get(1, &minor) == 0 && get(2, &patch) == 0;
        return new(handle, ok ? major * 10000 + minor * 100 + patch : 0, MappedFile(getProperty) ?? candidate, null);
    }

    /// <summary>The file mapped at <paramref name="address"/> (from /proc/self/maps on Linux), or null when unknown.</summary>
    internal static string? MappedFile(nint address)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            ulong a = (ulong)address;
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                // "7f12a0000000-7f12a0200000 r-xp 00000000 08:01 1234   /usr/lib/x86_64-linux-gnu/libcublas.so.12.8.4.1"
                int dash = line.IndexOf('-');
                int space = line.IndexOf(' ');
                if (dash <= 0 || space <= dash) continue;
                ulong start = Convert.ToUInt64(line[..dash], 16), end = Convert.ToUInt64(line[(dash + 1)..space], 16);
                if (a < start || a >= end) continue;
                int slash = line.IndexOf('/');
                return slash < 0 ? null : line[slash..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Tries each candidate in order; the first that loads wins.</summary>
    internal static LoadResult TryCandidates(IReadOnlyList<string> candidates)
    {
        foreach (string candidate in candidates)
        {
            if (Path.IsPathRooted(candidate) && !File.Exists(candidate)) continue;
            if (NativeLibrary.TryLoad(candidate, out nint handle))
                return new LoadResult(handle, candidate, candidates);
        }
        return new LoadResult(0, null, candidates);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName == Cublas)
        {
            // Never a default search: a cuBLAS call before SelectCublas must not bind to whatever file the loader finds.
            lock (Gate) return _cublas?.Handle ?? 0;
        }
        if (libraryName is not (Cuda or Emulator or Mpi or Nccl)) return 0;
        var result = Load(libraryName);
        // Returning 0 lets the runtime try its defaults and then throw DllNotFoundException; callers check Load() first.
        return result.Handle;
    }

    /// <summary><paramref name="names"/> as plain names (the loader's own search) and then in each of <see cref="CudaDirectories"/>.</summary>
    private static List<string> WithCudaDirectories(string[] names)
    {
        var list = new List<string>(names);
        foreach (string directory in CudaDirectories())
            foreach (string name in names)
                list.Add(Path.Combine(directory, name));
        return list;
    }

    /// <summary>$CUDA_HOME/lib64, $CUDA_PATH/lib64 and /usr/local/cuda/lib64, searched after the loader's own path.</summary>
    internal static IReadOnlyList<string> CudaDirectories()
    {
        var directories = new List<string>();
        foreach (string variable in new[] { "CUDA_HOME", "CUDA_PATH" })
        {
            string? root = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrEmpty(root)) directories.Add(Path.Combine(root, "lib64"));
        }
        directories.Add("/usr/local/cuda/lib64");
        return directories.Distinct().ToList();
    }

    // NCCL: $CONVNET_NCCL (a file), the loader's search path, the CUDA directories, then the copy that PyTorch's CUDA
    // wheels install (site-packages/nvidia/nccl/lib) for any python3.x under /usr and /usr/local.
    private static List<string> NcclCandidates()
    {
        var list = new List<string>();
        string? explicitPath = Environment.GetEnvironmentVariable("CONVNET_NCCL");
        if (!string.IsNullOrEmpty(explicitPath)) list.Add(explicitPath);
        list.AddRange(WithCudaDirectories(["libnccl.so.2", "libnccl.so"]));
        foreach (string root in new[] { "/usr/local/lib", "/usr/lib" })
        {
            if (!Directory.Exists(root)) continue;
            foreach (string python in Directory.EnumerateDirectories(root, "python3*").Order(StringComparer.Ordinal))
                foreach (string packages in new[] { "dist-packages", "site-packages" })
                    list.Add(Path.Combine(python, packages, "nvidia", "nccl", "lib", "libnccl.so.2"));
        }
        return list;
    }

    private static List<string> EmulatorCandidates()
    {
        var list = new List<string>();
        // The build copies the library next to the assembly of every project referencing ConvNet.Gpu; a portable
        // NuGet consumer has it under runtimes/linux-x64/native/.
        string directory = AppContext.BaseDirectory;
        list.Add(Path.Combine(directory, EmulatorFileName));
        list.Add(Path.Combine(directory, "runtimes", "linux-x64", "native", EmulatorFileName));
        list.Add(EmulatorFileName); // the loader's own search path (LD_LIBRARY_PATH)
        return list;
    }
}
