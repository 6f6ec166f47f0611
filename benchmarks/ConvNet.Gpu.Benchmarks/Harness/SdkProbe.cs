namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// Whether a .NET SDK is installed, i.e. whether BenchmarkDotNet's default toolchain can generate and build a
/// project per benchmark. Looks for a non-empty "sdk" folder beside every dotnet host it can find: DOTNET_ROOT, the
/// folder of the running host, each "dotnet" on PATH, and the usual install folders.
/// </summary>
public static class SdkProbe
{
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
