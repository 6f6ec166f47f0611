using System.Collections.Concurrent;
using System.Text.Json;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>
/// The convolutions of the benchmark shape table (benchmarks/conv-shapes.json: LeNet, Keras, ResNet 3x3 stride 1 and 2,
/// pointwise 256 -> 64, dilated), at batch 1 to keep the emulator's CI time down (the batch adds no edge case the conv
/// table lacks): forward with bias, backward-data and backward-weights against the float64 reference and, for CUDA, the
/// CPU backend. These are the shapes the benchmarks time, with realistic channel counts and reductions up to 576.
/// Inputs are drawn once per run and shape (from the run's seed), so the slow float64 reference is computed once and
/// shared by every backend and algorithm the suite runs on.
/// </summary>
public abstract class ConvBenchmarkShapesSuite(BackendUnderTest backend) : ConvPassesSuite(backend)
{
    private sealed record Data(Conv2dGeometry G, float[] X, float[] W, float[] B, float[] Dy, double[] Y, double[] Dx, double[] Dw, int Seed);

    private static readonly int RunSeed = new TestRng().Seed;
    private static readonly ConcurrentDictionary<string, Lazy<Data>> Cache = new();
    private static readonly Lazy<IReadOnlyDictionary<string, Conv2dGeometry>> Shapes = new(LoadShapes);

    /// <summary>The longest reduction of these shapes at batch 1: backward-weights of lenet-c1 over 28 * 28 pixels.</summary>
    public const long LongestReduction = 28 * 28;

    /// <summary>The shape names of conv-shapes.json.</summary>
    public static TheoryData<string> Names => new(Shapes.Value.Keys);

    private static IReadOnlyDictionary<string, Conv2dGeometry> LoadShapes()
    {
        using var stream = typeof(ConvBenchmarkShapesSuite).Assembly.GetManifestResourceStream("conv-shapes.json")
                           ?? throw new InvalidOperationException("conv-shapes.json is not embedded in the test assembly");
        using var json = JsonDocument.Parse(stream);
        var shapes = new Dictionary<string, Conv2dGeometry>();
        foreach (var s in json.RootElement.GetProperty("shapes").EnumerateArray())
        {
            int Get(string name) => s.GetProperty(name).GetInt32();
            var spec = Conv2dSpec.Square(Get("kernel"), Get("stride"), Get("pad"), Get("dilation"));
            shapes[s.GetProperty("name").GetString()!] = spec.Resolve(TensorShape.Nchw(1, Get("c"), Get("h"), Get("w")), Get("k"));
        }
        return shapes;
    }

    private static Data Prepare(string name)
    {
        var g = Shapes.Value[name];
        int seed = RunSeed * 31 + name.GetHashCode(StringComparison.Ordinal) % 1000;
        var rng = new TestRng(seed);
        float[] x = rng.Uniform(g.InputShape.ElementCount), w = rng.Uniform(g.WeightShape.ElementCount), b = rng.Uniform(g.K);
        float[] dy = rng.Uniform(g.OutputShape.ElementCount);
        double[] xd = Array.ConvertAll(x, v => (double)v), wd = Array.ConvertAll(w, v => (double)v), dyd = Array.ConvertAll(dy, v => (double)v);
        return new Data(g, x, w, b, dy, ConvReference.Forward(xd, wd, Array.ConvertAll(b, v => (double)v), g),
            ConvReference.BackwardData(dyd, wd, g), ConvReference.BackwardWeights(xd, dyd, g), seed);
    }

    [Theory, MemberData(nameof(Names))]
    public void Every_pass_matches_the_reference_on_the_benchmark_shape(string name)
    {
        var d = Cache.GetOrAdd(name, n => new Lazy<Data>(() => Prepare(n))).Value;
        var g = d.G;
        VerifyPasses($"{name} {g} (data seed {d.Seed})", g, d.X, d.W, d.B, d.Dy, d.Y, d.Dx, d.Dw);
    }
}

/// <summary>The benchmark shapes on the CPU backend.</summary>
public sealed class ConvBenchmarkShapes_Cpu() : ConvBenchmarkShapesSuite(TestBackends.Cpu());
