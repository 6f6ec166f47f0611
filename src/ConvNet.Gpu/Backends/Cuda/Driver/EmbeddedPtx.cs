using System.Text;
using System.Text.RegularExpressions;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

/// <summary>
/// One PTX module embedded in the assembly by build/ConvNet.Kernels.targets. Every kernel file is compiled for two
/// targets: sm_70 (every GPU we support) and sm_80 (Ampere and later, where the kernels' sm_80 code paths and the
/// tensor-core and cp.async kernels exist); a device loads the one set <see cref="TargetFor"/> picks.
/// </summary>
/// <param name="ResourceName">Manifest resource name, e.g. "ConvNet.Gpu.Kernels.sm_80.im2col.ptx".</param>
/// <param name="Image">The PTX text as UTF-8 with a terminating NUL (what cuModuleLoadDataEx wants).</param>
/// <param name="IsaMajor">PTX ISA major version from the <c>.version</c> directive.</param>
/// <param name="IsaMinor">PTX ISA minor version.</param>
/// <param name="Target">The <c>.target</c> directive's architecture, e.g. 80 for sm_80.</param>
internal sealed partial record EmbeddedPtx(string ResourceName, byte[] Image, int IsaMajor, int IsaMinor, int Target)
{
    /// <summary>Prefix of every embedded PTX resource.</summary>
    public const string ResourcePrefix = "ConvNet.Gpu.Kernels.";

    /// <summary>
    /// The oldest CUDA driver the embedded PTX supports: CUDA 11.0 (R450), 1000 * major + 10 * minor. Every module must
    /// declare a PTX ISA it accepts (at most <see cref="PinnedIsaMajor"/>.<see cref="PinnedIsaMinor"/>); build/compile-ptx.sh
    /// pins nvcc's output to that ISA, and clang-14's (ISA 6.0 for sm_70, 7.0 for sm_80) is no newer.
    /// </summary>
    public const int OldestSupportedDriverVersion = 11000;

    /// <summary>Major of the newest PTX ISA the oldest supported driver JITs (7.0 came with CUDA 11.0).</summary>
    public const int PinnedIsaMajor = 7;

    /// <summary>Minor of that ISA.</summary>
    public const int PinnedIsaMinor = 0;

    /// <summary>The PTX targets embedded, lowest first.</summary>
    public static IReadOnlyList<int> Targets { get; } = [70, 80];

    /// <summary>"sm_80"-style name of <see cref="Target"/>.</summary>
    public string TargetName => $"sm_{Target}";

    /// <summary>
    /// The PTX target a GPU of compute capability <paramref name="major"/>.<paramref name="minor"/> loads: the highest
    /// embedded target not above it (sm_80 from 8.0 on, else sm_70), or null below 7.0 (no embedded PTX can run there).
    /// </summary>
    public static int? TargetFor(int major, int minor)
    {
        int capability = major * 10 + minor;
        int? chosen = null;
        foreach (int target in Targets)
            if (target <= capability) chosen = target;
        return chosen;
    }

    /// <summary>The embedded modules of one <paramref name="target"/> (70 or 80), one per kernel file.</summary>
    public static IReadOnlyList<EmbeddedPtx> LoadFor(int target) => LoadAll().Where(m => m.Target == target).ToList();

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
        var version = VersionDirective().Match(head);
        if (!version.Success)
            throw new InvalidOperationException($"Embedded PTX '{resourceName}' has no .version directive.");
        var target = TargetDirective().Match(head);
        if (!target.Success)
            throw new InvalidOperationException($"Embedded PTX '{resourceName}' has no .target sm_XX directive.");
        return new EmbeddedPtx(resourceName, image, int.Parse(version.Groups[1].Value), int.Parse(version.Groups[2].Value),
            int.Parse(target.Groups[1].Value));
    }

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

    [GeneratedRegex(@"^\s*\.target\s+sm_(\d+)", RegexOptions.Multiline)]
    private static partial Regex TargetDirective();
}
