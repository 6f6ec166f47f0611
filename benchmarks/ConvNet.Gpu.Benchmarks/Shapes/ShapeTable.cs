using System.Reflection;
using System.Text.Json;

namespace ConvNet.Gpu.Benchmarks.Shapes;

/// <summary>One pooling case of the shape table: an NCHW input and a square window.</summary>
/// <param name="Name">Short name used in tables and peer JSON, e.g. "lenet-s2".</param>
/// <param name="N">Batch size.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="Kernel">Window size.</param>
/// <param name="Stride">Window stride.</param>
/// <param name="Pad">Symmetric padding (average pooling counts padded zeros, as PyTorch does by default).</param>
public sealed record PoolShape(string Name, int N, int C, int H, int W, int Kernel, int Stride, int Pad)
{
    /// <summary>The resolved geometry for batch <paramref name="batch"/> (the table's batch when null).</summary>
    public Pool2dGeometry Geometry(int? batch = null) =>
        Pool2dSpec.Square(Kernel, Stride, Pad).Resolve(TensorShape.Nchw(batch ?? N, C, H, W));

    /// <summary>The name, for BenchmarkDotNet parameter columns.</summary>
    public override string ToString() => Name;
}

/// <summary>
/// The benchmark shape table, read from benchmarks/conv-shapes.json: the single source shared with the PyTorch peer
/// (benchmarks/peers/pytorch_peer.py). The file is embedded in this assembly so a published copy needs no source
/// tree; <c>CONVNET_SHAPES</c> may point at another file. <see cref="VerifyConvShapesAgree"/> checks that the
/// hand-written <see cref="ConvShapes"/> (used by the quick CPU table) still matches it.
/// </summary>
public static class ShapeTable
{
    /// <summary>Environment variable naming an alternative shape-table file.</summary>
    public const string EnvironmentVariable = "CONVNET_SHAPES";

    private static readonly Lazy<(IReadOnlyList<ConvShape> Convs, IReadOnlyList<PoolShape> Pools)> Table = new(Load);

    /// <summary>The convolution shapes, in file order.</summary>
    public static IReadOnlyList<ConvShape> Convolutions => Table.Value.Convs;

    /// <summary>The pooling shapes, in file order.</summary>
    public static IReadOnlyList<PoolShape> Pools => Table.Value.Pools;

    /// <summary>The convolution shape called <paramref name="name"/>.</summary>
    public static ConvShape Convolution(string name) =>
        Convolutions.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"unknown conv shape '{name}'", nameof(name));

    /// <summary>The pooling shape called <paramref name="name"/>.</summary>
    public static PoolShape Pool(string name) =>
        Pools.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"unknown pool shape '{name}'", nameof(name));

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> naming the first difference when <see cref="ConvShapes.All"/>
    /// (names, order, N, C, H, W, K and the spec) differs from the JSON table.
    /// </summary>
    public static void VerifyConvShapesAgree()
    {
        var json = Convolutions;
        var code = ConvShapes.All;
        if (json.Count != code.Count)
            throw new InvalidOperationException($"conv-shapes.json has {json.Count} conv shapes but ConvShapes.All has {code.Count}.");
        for (int i = 0; i < json.Count; i++)
            if (json[i] != code[i])
                throw new InvalidOperationException($"conv shape {i} differs: conv-shapes.json has {Describe(json[i])}, ConvShapes.cs has {Describe(code[i])}.");
    }

    private static string Describe(ConvShape s) => $"{s.Name} N{s.N} C{s.C} {s.H}x{s.W} K{s.K} {s.Spec}";

    private static (IReadOnlyList<ConvShape>, IReadOnlyList<PoolShape>) Load()
    {
        using var stream = Open();
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement;
        var convs = root.GetProperty("shapes").EnumerateArray().Select(e => new ConvShape(
            e.GetProperty("name").GetString()!, Int(e, "n"), Int(e, "c"), Int(e, "h"), Int(e, "w"), Int(e, "k"),
            Conv2dSpec.Square(Int(e, "kernel"), stride: Int(e, "stride"), padding: Int(e, "pad"), dilation: Int(e, "dilation")))).ToList();
        var pools = root.GetProperty("pools").EnumerateArray().Select(e => new PoolShape(
            e.GetProperty("name").GetString()!, Int(e, "n"), Int(e, "c"), Int(e, "h"), Int(e, "w"), Int(e, "kernel"),
            Int(e, "stride", Int(e, "kernel")), Int(e, "pad", 0))).ToList();
        return (convs, pools);
    }

    private static int Int(JsonElement e, string name, int? fallback = null) =>
        e.TryGetProperty(name, out var v) ? v.GetInt32()
        : fallback ?? throw new InvalidOperationException($"shape table entry {e} lacks \"{name}\".");

    private static Stream Open()
    {
        string? path = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(path)) return File.OpenRead(path);
        return Assembly.GetExecutingAssembly().GetManifestResourceStream("ConvNet.Gpu.Benchmarks.conv-shapes.json")
               ?? throw new InvalidOperationException("the embedded conv-shapes.json is missing from the benchmark assembly.");
    }
}
