using System.Text.RegularExpressions;
using Xunit;

namespace ConvNet.Gpu.Tests.Architecture;

/// <summary>
/// One name per op family (<see cref="OpFamilies"/>, docs/architecture.md): every family has its seven places under one
/// name, and every backend partial, kernel file, reference, op suite and IBackend section belongs to a listed family, so
/// a newcomer who knows the name finds all of a family's files with one search. Reads the source tree (skips when the
/// tests run from a published folder without it).
/// </summary>
public sealed partial class OpFamilyNamingTests
{
    private static string Root()
    {
        string? kernels = Cuda.Device.KernelSources.Directory();
        if (kernels is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        return Path.GetDirectoryName(kernels)!;
    }

    private static string Backends => Path.Combine(Root(), "src", "ConvNet.Gpu", "Backends");

    private static string TestsDir => Path.Combine(Root(), "tests", "ConvNet.Gpu.Tests");

    private static IEnumerable<string> Names(string dir, string pattern) =>
        Directory.GetFiles(dir, pattern).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal);

    [Fact]
    public void EveryFamilyHasItsFilesUnderOneName()
    {
        var missing = new List<string>();
        void Expect(string path)
        {
            if (!File.Exists(path)) missing.Add(Path.GetRelativePath(Root(), path));
        }
        foreach (var f in OpFamilies.All)
        {
            Expect(Path.Combine(Backends, $"BackendBase.{f.Name}.cs"));
            if (f.HasCpuFile) Expect(Path.Combine(Backends, "Cpu", $"CpuBackend.{f.Name}.cs"));
            Expect(Path.Combine(Backends, "Cuda", $"CudaBackend.{f.Name}.cs"));
            foreach (string k in f.Kernels) Expect(Path.Combine(Root(), "kernels", k));
            if (f.HasReference) Expect(Path.Combine(TestsDir, "Reference", $"{f.Name}Reference.cs"));
            Expect(Path.Combine(TestsDir, "Ops", $"{f.Name}OpsSuite.cs"));
        }
        Assert.True(missing.Count == 0, "Missing files of op families (OpFamilies.All): " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryBackendPartialBelongsToAFamily()
    {
        var partials = Names(Backends, "BackendBase.*.cs")
            .Concat(Names(Path.Combine(Backends, "Cpu"), "CpuBackend.*.cs"))
            .Concat(Names(Path.Combine(Backends, "Cuda"), "CudaBackend.*.cs"));
        var strays = partials.Where(p => !OpFamilies.NonFamilyPartials.Contains(p)
            && !OpFamilies.All.Any(f => p.Split('.')[1].StartsWith(f.Name, StringComparison.Ordinal))).ToList();
        Assert.True(strays.Count == 0,
            $"Backend partial files named after no op family: {string.Join(", ", strays)}. Name them BackendBase/CpuBackend/CudaBackend.X.cs " +
            "(or X<Part>.cs) for a family X of OpFamilies.All, or add a new family there and to docs/architecture.md.");
    }

    [Fact]
    public void EveryKernelFileBelongsToExactlyOneFamily()
    {
        var owners = OpFamilies.All.SelectMany(f => f.Kernels.Select(k => (Kernel: k, f.Name))).ToList();
        Assert.Equal(owners.Count, owners.Select(o => o.Kernel).Distinct().Count());
        var listed = owners.Select(o => o.Kernel).Concat(OpFamilies.NonFamilyKernels).Order(StringComparer.Ordinal);
        Assert.Equal(listed, Names(Path.Combine(Root(), "kernels"), "*.cu"));
    }

    [Fact]
    public void EveryReferenceAndOpSuiteIsNamedAfterAFamily()
    {
        var families = OpFamilies.All.Select(f => f.Name).ToHashSet();
        var references = Names(Path.Combine(TestsDir, "Reference"), "*Reference.cs").Select(n => n[..^"Reference.cs".Length]);
        var strayReferences = references.Where(r => !families.Contains(r)).ToList();
        Assert.True(strayReferences.Count == 0, $"References named after no op family: {string.Join(", ", strayReferences)}");
        var suites = Names(Path.Combine(TestsDir, "Ops"), "*OpsSuite.cs").Where(n => !OpFamilies.CrossFamilySuites.Contains(n))
            .Select(n => n[..^"OpsSuite.cs".Length]);
        var straySuites = suites.Where(s => !families.Contains(s)).ToList();
        Assert.True(straySuites.Count == 0, $"Op suites named after no op family: {string.Join(", ", straySuites)}");
    }

    [Fact]
    public void IBackendSectionsAreTheFamilies()
    {
        // "// ------ Family: what" heads each op section of IBackend.cs; memory ops come first and have no family.
        var sections = IBackendSection().Matches(File.ReadAllText(Path.Combine(Backends, "IBackend.cs")))
            .Select(m => m.Groups[1].Value).Where(s => s != "memory").Distinct().ToList();
        Assert.Equal(OpFamilies.All.Select(f => f.Name).Order(StringComparer.Ordinal), sections.Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"^\s*// -{20,} (\w+)", RegexOptions.Multiline)]
    private static partial Regex IBackendSection();
}
