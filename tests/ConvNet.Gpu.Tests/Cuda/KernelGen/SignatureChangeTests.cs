using System.Collections.Immutable;
using ConvNet.Gpu.KernelGen;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.KernelGen;

/// <summary>
/// The point of generating the launchers: a kernel signature change is a C# compile error at the call, not a launch-time
/// error. Runs the real generator (<see cref="KernelLauncherGenerator"/>) inside a Roslyn compilation of a small call
/// site, before and after changing the kernel, and checks the build errors of a declaration it cannot read.
/// </summary>
public sealed class SignatureChangeTests
{
    // The two types the generated code packs into, as ConvNet.Gpu declares them (only the members it calls).
    private const string Support = """
        namespace ConvNet.Gpu.Backends.Cuda
        {
            public struct KernelArgs
            {
                public void AddPointer(ulong p) { }
                public void Add(int v) { }
                public void Add(float v) { }
                public void Add(long v) { }
                public void Add(ulong v) { }
            }

            public readonly struct KernelCall
            {
                public KernelCall(string name, in KernelArgs args) { Name = name; }
                public string Name { get; }
            }
        }
        """;

    // A call written against cn_scale(GPTR(const float) x, GPTR(float) y, long long n, float alpha).
    private const string CallSite = """
        using ConvNet.Gpu.Backends.Cuda;
        using ConvNet.Gpu.Backends.Cuda.Kernels;

        internal static class Caller
        {
            public static KernelCall Scale(ulong x, ulong y, long n) => CudaKernels.Scale(x, y, n, 0.5f);
        }
        """;

    private sealed class KernelFile(string path, string text) : AdditionalText
    {
        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private static (ImmutableArray<Diagnostic> Generator, ImmutableArray<Diagnostic> Compiler) Build(string kernel)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is "System.Runtime.dll" or "System.Private.CoreLib.dll" or "System.Collections.dll" or "netstandard.dll")
            .Select(p => MetadataReference.CreateFromFile(p));
        var parse = new CSharpParseOptions(LanguageVersion.CSharp10);
        var compilation = CSharpCompilation.Create("SignatureChange",
            [CSharpSyntaxTree.ParseText(Support, parse), CSharpSyntaxTree.ParseText(CallSite, parse)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var driver = CSharpGeneratorDriver.Create([new KernelLauncherGenerator().AsSourceGenerator()],
            additionalTexts: [new KernelFile("/repo/kernels/elementwise.cu", kernel)], parseOptions: parse);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        return (generatorDiagnostics, output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray());
    }

    [Fact]
    public void TheCallCompilesAgainstTheKernelItWasWrittenFor()
    {
        var (generator, compiler) = Build("CN_KERNEL cn_scale(GPTR(const float) x, GPTR(float) y, long long n, float alpha)\n{\n}\n");
        Assert.Empty(generator);
        Assert.Empty(compiler);
    }

    [Theory]
    [InlineData("GPTR(const float) x, GPTR(float) y, long long n, float alpha, int accumulate", "CS7036")] // a parameter added
    [InlineData("GPTR(const float) x, GPTR(float) y, long long n", "CS1501")]                              // a parameter removed
    [InlineData("GPTR(const float) x, GPTR(float) y, int n, float alpha", "CS1503")]                       // long long -> int
    [InlineData("GPTR(const float) x, long long n, GPTR(float) y, float alpha", "CS1503")]                 // reordered
    public void ChangingTheKernelSignatureBreaksTheCallAtCompileTime(string parameters, string error)
    {
        var (generator, compiler) = Build($"CN_KERNEL cn_scale({parameters})\n{{\n}}\n");
        Assert.Empty(generator);
        Assert.Contains(compiler, d => d.Id == error);
        // Every error is at the call (the generated code itself stays valid).
        foreach (var d in compiler)
        {
            int line = d.Location.GetLineSpan().StartLinePosition.Line;
            Assert.Contains("CudaKernels.Scale(", d.Location.SourceTree!.GetText(TestContext.Current.CancellationToken).Lines[line].ToString());
        }
    }

    [Fact]
    public void ADeclarationTheGeneratorCannotReadIsABuildErrorAtItsLine()
    {
        var (generator, _) = Build("// scale\nCN_KERNEL cn_scale(GPTR(const float) x, GPTR(float) y, long long n, double alpha)\n{\n}\n");
        var diagnostic = Assert.Single(generator);
        Assert.Equal("CNK001", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(1, diagnostic.Location.GetLineSpan().StartLinePosition.Line); // 0-based: the second line
        Assert.Contains("kernels/elementwise.cu:2: kernel cn_scale: parameter 'double alpha' has type 'double'", diagnostic.GetMessage());
    }
}
