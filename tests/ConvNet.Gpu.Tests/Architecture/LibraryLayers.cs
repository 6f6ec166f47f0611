namespace ConvNet.Gpu.Tests.Architecture;

/// <summary>One layer of the library: a rank (0 is the bottom) and the modules that sit in it.</summary>
/// <param name="Name">What the layer is called in messages.</param>
/// <param name="Rank">Position from the bottom; a type may use types of its own rank or lower only.</param>
/// <param name="Namespaces">
/// The layer's modules, one namespace each; "X.*" is a module made of X and every namespace under it (its internals).
/// Modules of one layer may use each other, but never in a cycle.
/// </param>
public sealed record LibraryLayer(string Name, int Rank, IReadOnlyList<string> Namespaces);

/// <summary>
/// The architecture of ConvNet.Gpu as layers of modules, bottom to top (docs/architecture.md draws the same picture).
/// The dependency-rule test checks the compiled library against this table: a type uses types of its own layer or of
/// lower layers only, modules never depend on each other in a cycle, and every namespace of the library has a place
/// here, so a new area must be placed deliberately.
/// </summary>
public static class LibraryLayers
{
    /// <summary>
    /// Types of the root namespace that are entry points: thin facades a user starts from, which may reach any layer.
    /// Every other root-namespace type (Tensor, TensorShape, the geometry specs, IBackend, the errors) is the bottom layer.
    /// </summary>
    public static IReadOnlyList<string> EntryPoints { get; } =
    [
        "ConvNet.Gpu.Backend",
        "ConvNet.Gpu.Models",
        "ConvNet.Gpu.ModelFiles",
        "ConvNet.Gpu.SequentialFiles",
    ];

    /// <summary>The layers, bottom first.</summary>
    public static IReadOnlyList<LibraryLayer> All { get; } =
    [
        new("Core (tensors, shapes, geometry specs, the IBackend contract, errors)", 0, ["ConvNet.Gpu"]),
        new("Backends (CPU, CUDA)", 1, ["ConvNet.Gpu.Backends.Cpu.*", "ConvNet.Gpu.Backends.Cuda.*"]),
        new("Foundation (parameters and buffers, initializers, data, atomic files, collectives)", 2,
            ["ConvNet.Gpu.Parameters", "ConvNet.Gpu.Initializers", "ConvNet.Gpu.Data", "ConvNet.Gpu.IO", "ConvNet.Gpu.Distributed.*"]),
        new("Nn (layers, graph models)", 3, ["ConvNet.Gpu.Nn"]),
        new("Losses, optimizers, ready-made models", 4, ["ConvNet.Gpu.Losses", "ConvNet.Gpu.Optimizers", "ConvNet.Gpu.ModelZoo"]),
        new("Checkpoints and export (ONNX)", 5, ["ConvNet.Gpu.Checkpoints", "ConvNet.Gpu.Onnx.*"]),
        new("Training (and data-parallel training)", 6, ["ConvNet.Gpu.Training.*"]),
        new("Entry points (root-namespace facades)", 7, []),
    ];

    /// <summary>Whether a type belongs to the library (as opposed to helpers a source generator put in other namespaces).</summary>
    public static bool IsLibraryType(string typeFullName) =>
        TypeDependencies.NamespaceOf(typeFullName) is var ns && (ns == "ConvNet.Gpu" || ns.StartsWith("ConvNet.Gpu.", StringComparison.Ordinal));

    /// <summary>The layer of a top-level type, or null when its namespace has no place in the table.</summary>
    public static LibraryLayer? Of(string typeFullName) => Locate(typeFullName)?.Layer;

    /// <summary>The module a top-level type belongs to (its table entry, or the type itself for an entry point), or null.</summary>
    public static string? ModuleOf(string typeFullName) => Locate(typeFullName)?.Module;

    private static (LibraryLayer Layer, string Module)? Locate(string typeFullName)
    {
        if (EntryPoints.Contains(typeFullName)) return (All[^1], typeFullName);
        string ns = TypeDependencies.NamespaceOf(typeFullName);
        LibraryLayer? best = null;
        string? module = null;
        int bestLength = -1;
        foreach (var layer in All)
        {
            foreach (var pattern in layer.Namespaces)
            {
                bool wildcard = pattern.EndsWith(".*", StringComparison.Ordinal);
                string stem = wildcard ? pattern[..^2] : pattern;
                bool match = ns == stem || (wildcard && ns.StartsWith(stem + ".", StringComparison.Ordinal));
                if (match && stem.Length > bestLength)
                {
                    best = layer;
                    module = pattern;
                    bestLength = stem.Length;
                }
            }
        }
        return best is null ? null : (best, module!);
    }
}
