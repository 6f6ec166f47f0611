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
            Assert.True(ptx.RequiredDriverVersion <= 12000, $"{file}: PTX ISA {ptx.Isa} is newer than needed; target a low ISA so old drivers JIT it");
        }
    }

    [GeneratedRegex(@"\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex EntryDirective();
}
