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
                Assert.True(ptx.RequiredDriverVersion <= 12000, $"{file}: PTX ISA {ptx.Isa} is newer than needed; target a low ISA so old drivers JIT it");
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
}
