using Xunit;
using System.Text.RegularExpressions;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>Reads kernels/*.cu from the repository (found by walking up from the test binary) as an independent oracle.</summary>
internal static partial class KernelSources
{
    public static string? Directory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "kernels");
            if (File.Exists(Path.Combine(candidate, "cn_runtime.cuh"))) return candidate;
        }
        return null;
    }

    /// <summary>Kernel file name (without .cu) -> names of its CN_KERNELs. Skips the test when the sources are not around.</summary>
    public static Dictionary<string, List<string>> KernelsByFile()
    {
        string? dir = Directory();
        if (dir is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        var map = new Dictionary<string, List<string>>();
        foreach (string file in System.IO.Directory.GetFiles(dir, "*.cu"))
            map[Path.GetFileNameWithoutExtension(file)] =
                KernelDeclaration().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value).ToList();
        return map;
    }

    public static HashSet<string> DeclaredKernelNames() => KernelsByFile().Values.SelectMany(v => v).ToHashSet();

    [GeneratedRegex(@"CN_KERNEL\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex KernelDeclaration();
}
