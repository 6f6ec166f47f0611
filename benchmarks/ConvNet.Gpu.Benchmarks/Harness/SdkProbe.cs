namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// Whether BenchmarkDotNet's default (out-of-process) toolchain can work here: it needs a .NET SDK to build a
/// generated project, and it must find this project's .csproj from the current directory. SDKs are looked for as a
/// non-empty "sdk" folder beside every dotnet host found: DOTNET_ROOT, the running host, each "dotnet" on PATH and the
/// usual install folders.
/// </summary>
public static class SdkProbe
{
    private const string ProjectFile = "ConvNet.Gpu.Benchmarks.csproj";

    /// <summary>Why the benchmarks must run in-process here, or null when the default toolchain can build them.</summary>
    public static string? InProcessReason()
    {
        if (!IsSdkAvailable()) return "no .NET SDK found";
        if (!IsProjectReachable()) return $"{ProjectFile} is not reachable from {Environment.CurrentDirectory} (a published copy)";
        return null;
    }

    /// <summary>True when the current directory is inside the project folder, or holds it (directly or as benchmarks/...).</summary>
    public static bool IsProjectReachable()
    {
        string cwd = Environment.CurrentDirectory;
        if (File.Exists(Path.Combine(cwd, "ConvNet.Gpu.Benchmarks", ProjectFile))
            || File.Exists(Path.Combine(cwd, "benchmarks", "ConvNet.Gpu.Benchmarks", ProjectFile)))
            return true;
        for (var dir = new DirectoryInfo(cwd); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ProjectFile))) return true;
        return false;
    }

    /// <summary>True when some dotnet installation has at least one SDK.</summary>
    public static bool IsSdkAvailable() => Candidates().Any(HasSdk);

    private static bool HasSdk(string root)
    {
        string sdk = Path.Combine(root, "sdk");
        return Directory.Exists(sdk) && Directory.EnumerateDirectories(sdk).Any();
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) yield return root;
        if (Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process) == "dotnet")
            yield return Path.GetDirectoryName(ResolveLink(process))!;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string host = Path.Combine(dir, "dotnet");
            if (File.Exists(host)) yield return Path.GetDirectoryName(ResolveLink(host))!;
        }
        yield return "/usr/share/dotnet";
        yield return "/usr/lib/dotnet";
        yield return "/usr/local/share/dotnet";
        if (Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home) yield return Path.Combine(home, ".dotnet");
    }

    private static string ResolveLink(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }
}
