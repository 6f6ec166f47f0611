using Xunit;
using System.Text;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Backends.Cuda.Driver;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>The build embeds one PTX module per kernels/*.cu, and each defines exactly the file's CN_KERNELs.</summary>
public sealed partial class EmbeddedPtxTests
{
    [Fact]
    public void Every_kernel_file_is_embedded_as_PTX_with_an_entry_per_kernel()
    {
        var sources = KernelSources.KernelsByFile();
        var modules = EmbeddedPtx.LoadAll().ToDictionary(m => m.ResourceName);
        Assert.Equal(sources.Keys.Select(f => $"ConvNet.Gpu.Kernels.{f}.ptx").Order(), modules.Keys.Order());
        foreach (var (file, kernels) in sources)
        {
            var ptx = modules[$"ConvNet.Gpu.Kernels.{file}.ptx"];
            Assert.Equal(0, ptx.Image[^1]); // NUL-terminated for cuModuleLoadDataEx
            string text = Encoding.UTF8.GetString(ptx.Image, 0, ptx.Image.Length - 1);
            var entries = EntryDirective().Matches(text).Select(m => m.Groups[1].Value).Order();
            Assert.Equal(kernels.Order(), entries);
        }
    }

    /// <summary>
    /// Every embedded module's own <c>.version</c> and <c>.target</c> lines, read from the PTX text itself (not from
    /// EmbeddedPtx's parse), against the declared minimum: PTX ISA at most 7.0, which the oldest supported driver
    /// (CUDA 11.0) JITs, and a target of sm_70 or sm_75 (CUDA 13's nvcc starts at compute_75), so every GPU from Volta
    /// on can load it. Runs in the published test bundle too: it is the first thing to check on a new GPU host.
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
            // The portable modules target sm_70 (clang-14) or sm_75 (CUDA 13's nvcc); an architecture-specific module says
            // so in its name (e.g. "conv_tc.sm_80.ptx") and may target exactly that architecture.
            bool archSpecific = ptx.ResourceName.EndsWith($".sm_{sm}.ptx", StringComparison.Ordinal);
            Assert.True(sm is 70 or 75 || archSpecific && sm > 75,
                $"{ptx.ResourceName}: .target sm_{sm}; portable modules target sm_70 or sm_75, arch-specific ones are named *.sm_{sm}.ptx");
            Assert.Equal((isa.Major, isa.Minor, $"sm_{sm}"), (ptx.IsaMajor, ptx.IsaMinor, ptx.Target));
        }
    }

    [GeneratedRegex(@"\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex EntryDirective();

    [GeneratedRegex(@"^\.version (\d+)\.(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"^\.target sm_(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TargetLine();
}
