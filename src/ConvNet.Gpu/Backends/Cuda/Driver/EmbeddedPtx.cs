using System.Text;
using System.Text.RegularExpressions;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

/// <summary>One PTX module embedded in the assembly by build/ConvNet.Kernels.targets.</summary>
/// <param name="ResourceName">Manifest resource name, e.g. "ConvNet.Gpu.Kernels.im2col.ptx".</param>
/// <param name="Image">The PTX text as UTF-8 with a terminating NUL (what cuModuleLoadDataEx wants).</param>
/// <param name="IsaMajor">PTX ISA major version from the <c>.version</c> directive.</param>
/// <param name="IsaMinor">PTX ISA minor version.</param>
/// <param name="Target">The <c>.target</c> architecture, e.g. "sm_70" (the oldest GPU that can JIT the module).</param>
internal sealed partial record EmbeddedPtx(string ResourceName, byte[] Image, int IsaMajor, int IsaMinor, string Target)
{
    /// <summary>Prefix of every embedded PTX resource.</summary>
    public const string ResourcePrefix = "ConvNet.Gpu.Kernels.";

    /// <summary>
    /// The oldest CUDA driver the embedded PTX supports: CUDA 11.0 (R450), 1000 * major + 10 * minor. Every module must
    /// declare a PTX ISA it accepts (at most <see cref="PinnedIsaMajor"/>.<see cref="PinnedIsaMinor"/>); build/compile-ptx.sh
    /// pins nvcc's output to that ISA, and clang-14's (ISA 6.0) is older still.
    /// </summary>
    public const int OldestSupportedDriverVersion = 11000;

    /// <summary>Major of the newest PTX ISA the oldest supported driver JITs (7.0 came with CUDA 11.0).</summary>
    public const int PinnedIsaMajor = 7;

    /// <summary>Minor of that ISA.</summary>
    public const int PinnedIsaMinor = 0;

    /// <summary>The oldest CUDA driver version (1000 * major + 10 * minor) able to JIT this PTX ISA.</summary>
    public int RequiredDriverVersion => RequiredDriverFor(IsaMajor, IsaMinor);

    /// <summary>"6.0"-style ISA version.</summary>
    public string Isa => $"{IsaMajor}.{IsaMinor}";

    /// <summary>Reads every embedded PTX module of this assembly.</summary>
    public static IReadOnlyList<EmbeddedPtx> LoadAll()
    {
        var assembly = typeof(EmbeddedPtx).Assembly;
        var modules = new List<EmbeddedPtx>();
        foreach (string name in assembly.GetManifestResourceNames().Order(StringComparer.Ordinal))
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !name.EndsWith(".ptx", StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            var image = new byte[stream.Length + 1]; // + NUL terminator
            stream.ReadExactly(image, 0, (int)stream.Length);
            modules.Add(Parse(name, image));
        }
        return modules;
    }

    /// <summary>Parses the <c>.version</c> and <c>.target</c> directives of a NUL-terminated PTX image.</summary>
    public static EmbeddedPtx Parse(string resourceName, byte[] image)
    {
        string head = Encoding.UTF8.GetString(image, 0, Math.Min(image.Length, 4096));
        var match = VersionDirective().Match(head);
        if (!match.Success)
            throw new InvalidOperationException($"Embedded PTX '{resourceName}' has no .version directive.");
        var target = TargetDirective().Match(head);
        if (!target.Success)
            throw new InvalidOperationException($"Embedded PTX '{resourceName}' has no .target directive.");
        return new EmbeddedPtx(resourceName, image, int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value),
            target.Groups[1].Value);
    }

    /// <summary>The compute capability the <c>.target</c> names, as 10 * major + minor (e.g. 70 for sm_70).</summary>
    public int TargetComputeCapability => int.Parse(Target.AsSpan(3).TrimEnd('a'), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// PTX ISA to CUDA release: 6.0-6.2 came with CUDA 9.0-9.2, 6.3-6.5 with 10.0-10.2, 7.x with 11.x, 8.x with 12.x
    /// (8.6+ shipped one minor later: 8.6 = 12.7), 9.x with 13.x.
    /// </summary>
    public static int RequiredDriverFor(int isaMajor, int isaMinor) => (isaMajor, isaMinor) switch
    {
        (< 6, _) => 8000,
        (6, <= 2) => 9000 + isaMinor * 10,
        (6, _) => 10000 + (isaMinor - 3) * 10,
        (8, >= 6) => 12000 + (isaMinor + 1) * 10,
        _ => (isaMajor + 4) * 1000 + isaMinor * 10,
    };

    [GeneratedRegex(@"^\s*\.version\s+(\d+)\.(\d+)", RegexOptions.Multiline)]
    private static partial Regex VersionDirective();

    [GeneratedRegex(@"^\s*\.target\s+(sm_\d+a?)", RegexOptions.Multiline)]
    private static partial Regex TargetDirective();
}
