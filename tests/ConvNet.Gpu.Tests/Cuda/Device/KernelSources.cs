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

    /// <summary>
    /// Names of the CN_KERNELs declared inside an <c>#if CN_SM80</c> block: they exist in the sm_80 PTX and on the
    /// emulated device only, not in the sm_70 PTX. (Nested #if/#ifdef/#ifndef blocks are tracked; #else flips the block.)
    /// </summary>
    public static HashSet<string> Sm80OnlyKernelNames()
    {
        string? dir = Directory();
        if (dir is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        var names = new HashSet<string>();
        foreach (string file in System.IO.Directory.GetFiles(dir, "*.cu"))
        {
            var stack = new Stack<bool>(); // per open #if: is this branch sm_80-only?
            foreach (string raw in File.ReadLines(file))
            {
                string line = raw.Trim();
                if (line.StartsWith("#if", StringComparison.Ordinal)) stack.Push(line == "#if CN_SM80");
                else if (line.StartsWith("#else", StringComparison.Ordinal) && stack.Count > 0) stack.Push(stack.Pop() && false);
                else if (line.StartsWith("#endif", StringComparison.Ordinal) && stack.Count > 0) stack.Pop();
                else if (stack.Contains(true) && KernelDeclaration().Match(line) is { Success: true } m) names.Add(m.Groups[1].Value);
            }
        }
        return names;
    }

    // `CN_KERNEL name(` or `CN_KERNEL CN_LAUNCH_BOUNDS(threads, blocks) name(`, as build/gen-emu-unit.sh reads them.
    [GeneratedRegex(@"CN_KERNEL\s+(?:CN_LAUNCH_BOUNDS\([^)]*\)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex KernelDeclaration();
}
