using System.Globalization;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

/// <summary>
/// Chooses the cuBLAS library for a driver. A cuBLAS built by CUDA toolkit M runs only on a driver that supports CUDA M
/// or newer (cuDriverGetVersion): on a CUDA 12.x driver (R525-R575) cuBLAS 13 loads but <c>cublasCreate_v2</c> fails, while
/// an older cuBLAS runs on a newer driver. So the candidates are the cuBLAS majors from the driver's own major downwards
/// (13, then 12, then 11 on a CUDA 13 driver; 12, then 11 on a CUDA 12 driver), each first by its plain name (the
/// loader's search path: LD_LIBRARY_PATH, ldconfig) and then under the CUDA lib64 directories, and last the unversioned
/// development name, accepted only if the version it reports is one the driver can run. CUDA 13 also dropped compute
/// capability below 7.5 (Maxwell, Pascal, Volta), so on such a GPU cuBLAS 13 is skipped.
/// Every loaded file is asked for its version (<c>cublasGetProperty</c>), so a file whose name lies is rejected too.
/// </summary>
internal static class CublasSelection
{
    /// <summary>cuBLAS majors this code knows, newest first.</summary>
    public static IReadOnlyList<int> KnownMajors { get; } = [13, 12, 11];

    /// <summary>What loading one candidate gave: a handle and the version it reports, or why it was not usable.</summary>
    /// <param name="Handle">The loaded library (0 when it did not load).</param>
    /// <param name="Version">major * 10000 + minor * 100 + patch from cublasGetProperty (0 when unknown).</param>
    /// <param name="File">The file the loader actually mapped (a full path when known), else the name tried.</param>
    /// <param name="Error">Why it is unusable, or null.</param>
    internal readonly record struct Probe(nint Handle, int Version, string File, string? Error)
    {
        /// <summary>The major version the library reports.</summary>
        public int Major => Version / 10000;
    }

    /// <summary>The selection: the chosen library and why, or why none was usable.</summary>
    /// <param name="Handle">The chosen library, or 0.</param>
    /// <param name="File">The file that was loaded (a full path when the loader says which), or null.</param>
    /// <param name="Version">Its version, major * 10000 + minor * 100 + patch, or 0.</param>
    /// <param name="Reason">Why this file: e.g. "libcublas.so.12 (cuBLAS 12.8.4, /usr/lib/x86_64-linux-gnu/libcublas.so.12): the newest
    /// cuBLAS a CUDA 12.8 driver runs; skipped cuBLAS 13 (needs a CUDA 13 driver)". On failure, why nothing was usable.</param>
    /// <param name="Tried">Every name or path tried, in order.</param>
    internal sealed record Choice(nint Handle, string? File, int Version, string Reason, IReadOnlyList<string> Tried)
    {
        /// <summary>True when a usable cuBLAS was found.</summary>
        public bool Loaded => Handle != 0;
    }

    /// <summary>
    /// The cuBLAS majors a driver supporting CUDA <paramref name="driverVersion"/> (1000 * major + 10 * minor) can run on a
    /// GPU of compute capability <paramref name="computeCapability"/> (10 * major + minor), newest first; every major it
    /// cannot run goes to <paramref name="skipped"/> with the reason.
    /// </summary>
    public static IReadOnlyList<int> UsableMajors(int driverVersion, int computeCapability, List<string> skipped)
    {
        int driverMajor = driverVersion / 1000;
        var usable = new List<int>();
        foreach (int major in KnownMajors)
        {
            if (major > driverMajor)
                skipped.Add($"cuBLAS {major} (needs a CUDA {major} driver; this one supports CUDA {CudaDeviceInfo.FormatCudaVersion(driverVersion)})");
            else if (major >= 13 && computeCapability is > 0 and < 75)
                skipped.Add($"cuBLAS {major} (CUDA 13 dropped compute capability below 7.5; this GPU is {computeCapability / 10}.{computeCapability % 10})");
            else
                usable.Add(major);
        }
        return usable;
    }

    /// <summary>File names of cuBLAS major <paramref name="major"/> on this OS.</summary>
    public static string FileName(int major) =>
        OperatingSystem.IsWindows() ? $"cublas64_{major}.dll" : $"libcublas.so.{major}";

    /// <summary>
    /// Picks the cuBLAS for the driver: tries the usable majors newest first, each by plain name and then in
    /// <paramref name="directories"/>, then the unversioned name, calling <paramref name="probe"/> on each candidate until
    /// one loads and reports a version the driver can run. <paramref name="release"/> unloads a rejected library.
    /// </summary>
    public static Choice Select(int driverVersion, int computeCapability, IReadOnlyList<string> directories,
        Func<string, Probe> probe, Action<nint> release)
    {
        var skipped = new List<string>();
        var rejected = new List<string>();
        var tried = new List<string>();
        var majors = UsableMajors(driverVersion, computeCapability, skipped);
        string driverText = CudaDeviceInfo.FormatCudaVersion(driverVersion);

        Choice? TryName(string name, int? expectedMajor)
        {
            foreach (string candidate in WithDirectories(name, directories))
            {
                tried.Add(candidate);
                var p = probe(candidate);
                if (p.Handle == 0) continue; // not there: the loader's own message adds nothing to "tried ..."
                string? problem = p.Error
                    ?? (p.Version <= 0 ? "it does not report its version (cublasGetProperty failed)" : null)
                    ?? (expectedMajor is int m && p.Major != m ? $"its name says cuBLAS {m} but it reports {FormatVersion(p.Version)}" : null)
                    ?? (!majors.Contains(p.Major) ? $"it is cuBLAS {FormatVersion(p.Version)}, which this driver (CUDA {driverText}) cannot run" : null);
                if (problem is not null)
                {
                    rejected.Add($"{p.File}: {problem}");
                    release(p.Handle);
                    continue;
                }
                string why = p.Major == majors[0]
                    ? $"the newest cuBLAS a CUDA {driverText} driver runs"
                    : $"a cuBLAS a CUDA {driverText} driver runs (no newer usable one was found)";
                var notes = skipped.Select(s => $"skipped {s}").Concat(rejected.Select(r => $"rejected {r}")).ToList();
                string reason = $"{Path.GetFileName(candidate)} (cuBLAS {FormatVersion(p.Version)}, {p.File}): {why}"
                                + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "");
                return new Choice(p.Handle, p.File, p.Version, reason, tried);
            }
            return null;
        }

        foreach (int major in majors)
            if (TryName(FileName(major), major) is { } chosen) return chosen;
        if (!OperatingSystem.IsWindows() && majors.Count > 0 && TryName("libcublas.so", null) is { } unversioned) return unversioned;

        string need = majors.Count == 0
            ? $"no cuBLAS major this code knows ({string.Join(", ", KnownMajors)}) runs on a CUDA {driverText} driver"
            : $"no cuBLAS this driver (CUDA {driverText}) can run was found: it needs cuBLAS {string.Join(" or ", majors)}";
        var parts = new List<string> { need, $"tried {string.Join(", ", tried)}" };
        parts.AddRange(skipped.Select(s => $"skipped {s}"));
        parts.AddRange(rejected.Select(r => $"rejected {r}"));
        return new Choice(0, null, 0, string.Join("; ", parts), tried);
    }

    /// <summary>"12.8.4" from 120804.</summary>
    public static string FormatVersion(int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{version / 10000}.{version / 100 % 100}.{version % 100}");

    private static IEnumerable<string> WithDirectories(string name, IReadOnlyList<string> directories)
    {
        yield return name; // the loader's own search first: LD_LIBRARY_PATH, the ldconfig cache
        foreach (string directory in directories) yield return Path.Combine(directory, name);
    }
}
