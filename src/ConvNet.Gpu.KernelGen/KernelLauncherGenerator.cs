using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ConvNet.Gpu.KernelGen;

/// <summary>
/// Generates <c>KernelNames</c> and the typed launchers <c>CudaKernels</c> of ConvNet.Gpu from the kernel signatures in
/// kernels/*.cu, which build/ConvNet.Kernels.targets passes as AdditionalFiles (with the .cuh headers, for parameter
/// macros). A kernel whose signature cannot be read is a build error (CNK001) pointing at its line.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelLauncherGenerator : IIncrementalGenerator
{
    private static readonly DiagnosticDescriptor Unreadable = new(
        "CNK001", "Kernel signature not supported", "{0}", "ConvNet.Kernels", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly DiagnosticDescriptor NameClash = new(
        "CNK002", "Two kernels get one C# name", "{0}", "ConvNet.Kernels", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly DiagnosticDescriptor NoKernels = new(
        "CNK003", "No kernel sources", "{0}", "ConvNet.Kernels", DiagnosticSeverity.Error, isEnabledByDefault: true);

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var sources = context.AdditionalTextsProvider
            .Where(t => t.Path.EndsWith(".cu", StringComparison.Ordinal) || t.Path.EndsWith(".cuh", StringComparison.Ordinal))
            .Select((t, ct) => (Path: t.Path, Text: t.GetText(ct)?.ToString() ?? ""))
            .Collect();
        context.RegisterSourceOutput(sources, Emit);
    }

    private static void Emit(SourceProductionContext context, ImmutableArray<(string Path, string Text)> files)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in files) paths[Path.GetFileName(f.Path)] = f.Path;
        if (!paths.Keys.Any(p => p.EndsWith(".cu", StringComparison.Ordinal)))
        {
            context.ReportDiagnostic(Diagnostic.Create(NoKernels, Location.None,
                "no kernels/*.cu among the AdditionalFiles: build/ConvNet.Kernels.targets passes them"));
            return;
        }

        var result = KernelSourceParser.Parse(files.Select(f => new KernelSourceParser.Source(Path.GetFileName(f.Path), f.Text)));
        foreach (var e in result.Errors)
            context.ReportDiagnostic(Diagnostic.Create(Unreadable, At(paths[e.File], e.Line), $"kernels/{e.File}:{e.Line}: {e.Message}"));

        var seen = new Dictionary<string, KernelSignature>(StringComparer.Ordinal);
        bool clash = false;
        foreach (var k in result.Kernels)
        {
            string name = KernelNaming.KernelName(k.Name);
            if (seen.TryGetValue(name, out var other))
            {
                clash = true;
                context.ReportDiagnostic(Diagnostic.Create(NameClash, At(paths[k.File], k.Line),
                    $"kernels/{k.File}:{k.Line}: {k.Name} and {other.Name} (kernels/{other.File}:{other.Line}) both become '{name}'"));
            }
            else seen[name] = k;
        }
        if (clash) return;

        context.AddSource("KernelNames.g.cs", LauncherWriter.Names(result.Kernels));
        context.AddSource("CudaKernels.Params.g.cs", LauncherWriter.Groups(result.Groups.Values));
        foreach (var byFile in result.Kernels.GroupBy(k => k.File))
            context.AddSource($"CudaKernels.{Path.GetFileNameWithoutExtension(byFile.Key)}.g.cs", LauncherWriter.Launchers(byFile.Key, byFile));
    }

    private static Location At(string path, int line)
    {
        var position = new LinePosition(Math.Max(0, line - 1), 0);
        return Location.Create(path, default, new LinePositionSpan(position, position));
    }
}
