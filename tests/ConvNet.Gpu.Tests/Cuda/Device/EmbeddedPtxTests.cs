using Xunit;
using System.Text;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Backends.Cuda.Driver;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The build embeds one PTX module per kernels/*.cu and target (sm_70, sm_80); the sm_80 module defines exactly the
/// file's CN_KERNELs, the sm_70 one all but those declared under <c>#if CN_SM80</c>, and each states its target.
/// </summary>
public sealed partial class EmbeddedPtxTests
{
    [Fact]
    public void Every_kernel_file_is_embedded_as_PTX_per_target_with_an_entry_per_kernel()
    {
        var sources = KernelSources.KernelsByFile();
        var sm80Only = KernelSources.Sm80OnlyKernelNames();
        var modules = EmbeddedPtx.LoadAll().ToDictionary(m => m.ResourceName);
        Assert.Equal(sources.Keys.SelectMany(f => new[] { $"ConvNet.Gpu.Kernels.sm_70.{f}.ptx", $"ConvNet.Gpu.Kernels.sm_80.{f}.ptx" }).Order(),
            modules.Keys.Order());
        foreach (var (file, kernels) in sources)
            foreach (int target in EmbeddedPtx.Targets)
            {
                var ptx = modules[$"ConvNet.Gpu.Kernels.sm_{target}.{file}.ptx"];
                Assert.Equal(target, ptx.Target);
                Assert.Equal(0, ptx.Image[^1]); // NUL-terminated for cuModuleLoadDataEx
                string text = Encoding.UTF8.GetString(ptx.Image, 0, ptx.Image.Length - 1);
                var entries = EntryDirective().Matches(text).Select(m => m.Groups[1].Value).Order();
                Assert.Equal(kernels.Where(k => target >= 80 || !sm80Only.Contains(k)).Order(), entries);
            }
    }

    /// <summary>
    /// Every embedded module's own <c>.version</c> and <c>.target</c> lines, read from the PTX text itself (not from
    /// EmbeddedPtx's parse), against the declared minimum: PTX ISA at most 7.0, which the oldest supported driver
    /// (CUDA 11.0) JITs, and the target of its set (sm_70, or sm_75 for the sm_70 set when CUDA 13's nvcc built it, as it
    /// starts at compute_75; sm_80). Runs in the published test bundle too: it is the first thing to check on a new GPU host.
    /// </summary>
    [Fact]
    public void Embedded_PTX_declares_an_ISA_and_target_the_oldest_supported_driver_accepts()
    {
        Assert.Equal(11000, EmbeddedPtx.OldestSupportedDriverVersion);
        Assert.Equal(EmbeddedPtx.OldestSupportedDriverVersion, EmbeddedPtx.RequiredDriverFor(EmbeddedPtx.PinnedIsaMajor, EmbeddedPtx.PinnedIsaMinor));
        var modules = EmbeddedPtx.LoadAll();
        Assert.NotEmpty(modules);
        foreach (var ptx in modules)
        {
            string text = Encoding.UTF8.GetString(ptx.Image, 0, ptx.Image.Length - 1);
            var version = VersionLine().Match(text);
            var target = TargetLine().Match(text);
            Assert.True(version.Success && target.Success, $"{ptx.ResourceName}: no .version/.target line");
            Assert.True(target.Index > version.Index, $"{ptx.ResourceName}: .target must follow .version");
            var isa = (Major: int.Parse(version.Groups[1].Value), Minor: int.Parse(version.Groups[2].Value));
            Assert.True(isa.Major < EmbeddedPtx.PinnedIsaMajor || isa.Major == EmbeddedPtx.PinnedIsaMajor && isa.Minor <= EmbeddedPtx.PinnedIsaMinor,
                $"{ptx.ResourceName}: .version {isa.Major}.{isa.Minor} is newer than PTX ISA {EmbeddedPtx.PinnedIsaMajor}.{EmbeddedPtx.PinnedIsaMinor}, "
                + "so a CUDA 11.x/12.x driver rejects it (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); build/compile-ptx.sh must pin it");
            Assert.True(EmbeddedPtx.RequiredDriverFor(isa.Major, isa.Minor) <= EmbeddedPtx.OldestSupportedDriverVersion, ptx.ResourceName);
            int sm = int.Parse(target.Groups[1].Value);
            int set = int.Parse(Regex.Match(ptx.ResourceName, @"\.sm_(\d+)\.").Groups[1].Value);
            Assert.True(sm == set || set == 70 && sm == 75, $"{ptx.ResourceName}: .target sm_{sm} in the sm_{set} set");
            Assert.Equal((isa.Major, isa.Minor, sm), (ptx.IsaMajor, ptx.IsaMinor, ptx.Target));
        }
    }

    [Theory]
    [InlineData(6, 1, null)]
    [InlineData(7, 0, 70)]
    [InlineData(7, 5, 70)]
    [InlineData(8, 0, 80)]
    [InlineData(8, 6, 80)]
    [InlineData(9, 0, 80)]
    [InlineData(12, 0, 80)]
    public void A_device_loads_the_highest_target_its_compute_capability_runs(int major, int minor, int? target) =>
        Assert.Equal(target, EmbeddedPtx.TargetFor(major, minor));

    [GeneratedRegex(@"\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex EntryDirective();

    [GeneratedRegex(@"^\.version (\d+)\.(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"^\.target sm_(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TargetLine();
}
