using System.Diagnostics;

namespace ConvNet.Gpu.Cli.Diagnostics;

/// <summary>One op on one shape, for the quick <c>convnet bench</c> table.</summary>
/// <param name="Op">Op name, e.g. "conv fwd".</param>
/// <param name="Shape">The shape in words.</param>
/// <param name="Flops">Floating-point operations per call (2 per multiply-add).</param>
/// <param name="Prepare">Allocates the operands on a backend and returns the call to time (and the tensors to free).</param>
internal sealed record BenchCase(string Op, string Shape, double Flops, Func<IBackend, (Action Run, IReadOnlyList<Tensor> Owned)> Prepare);

/// <summary>A timed result: median milliseconds per call over the repeats, and the GFLOP/s that gives.</summary>
internal readonly record struct BenchTiming(double MedianMilliseconds, int Repeats)
{
    /// <summary>Throughput for <paramref name="flops"/> per call.</summary>
    public double GigaflopsPerSecond(double flops) => flops / (MedianMilliseconds * 1e-3) / 1e9;
}

/// <summary>
/// Times ops through <see cref="IBackend"/>: warm-up calls first, then repeats until about
/// the time budget have passed (at least 3), each ended by Synchronize so GPU work is counted; the median is kept.
/// Quick and indicative only; BenchmarkDotNet in benchmarks/ gives the careful numbers.
/// </summary>
internal static class OpBenchmark
{
    /// <summary>Default time budget per op and backend, in seconds.</summary>
    public const double DefaultSeconds = 0.4;

    /// <summary>The ops and shapes of the table: SGEMM, and LeNet-5 / VGG-style convolutions in all three directions.</summary>
    public static IReadOnlyList<BenchCase> Cases()
    {
        var cases = new List<BenchCase>
        {
            Gemm(512, 512, 512),
            Gemm(1024, 1024, 1024),
        };
        // (label, N, C, H, W, K, kernel, padding)
        var convs = new (string Label, int N, int C, int H, int W, int K, int Kernel, int Pad)[]
        {
            ("LeNet conv2: 64x6x14x14 -> 16, 5x5", 64, 6, 14, 14, 16, 5, 0),
            ("VGG block: 64x32x28x28 -> 64, 3x3 pad 1", 64, 32, 28, 28, 64, 3, 1),
        };
        foreach (var c in convs)
        {
            Conv2dGeometry g = Conv2dSpec.Square(c.Kernel, padding: c.Pad).Resolve(TensorShape.Nchw(c.N, c.C, c.H, c.W), c.K);
            double flops = 2.0 * g.MacCount;
            cases.Add(new BenchCase("conv fwd", c.Label, flops, b => Conv(b, g, (x, w, y) => b.Conv2dForward(x, w, null, y, g))));
            cases.Add(new BenchCase("conv bwd data", c.Label, flops, b => Conv(b, g, (x, w, y) => b.Conv2dBackwardData(y, w, x, g))));
            cases.Add(new BenchCase("conv bwd weights", c.Label, flops, b => Conv(b, g, (x, w, y) => b.Conv2dBackwardWeights(x, y, w, g, accumulate: false))));
        }
        return cases;
    }

    /// <summary>Times <paramref name="benchCase"/> on <paramref name="backend"/>.</summary>
    public static BenchTiming Measure(BenchCase benchCase, IBackend backend, double seconds, CancellationToken cancellationToken)
    {
        var (run, owned) = benchCase.Prepare(backend);
        try
        {
            run(); run(); // warm-up: JIT, kernel loading, cuBLAS handles, caches
            backend.Synchronize();
            var samples = new List<double>();
            var total = Stopwatch.StartNew();
            while ((samples.Count < 3 || total.Elapsed.TotalSeconds < seconds) && samples.Count < 200)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long start = Stopwatch.GetTimestamp();
                run();
                backend.Synchronize();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            samples.Sort();
            return new BenchTiming(samples[samples.Count / 2], samples.Count);
        }
        finally
        {
            foreach (Tensor t in owned) t.Dispose();
        }
    }

    private static BenchCase Gemm(int m, int n, int k) =>
        new("SGEMM", $"{m}x{k} * {k}x{n}", 2.0 * m * n * k, b =>
        {
            Tensor a = Random(b, TensorShape.Matrix(m, k), 1), bm = Random(b, TensorShape.Matrix(k, n), 2), c = b.Allocate(TensorShape.Matrix(m, n));
            return (() => b.Gemm(false, false, m, n, k, 1f, a, bm, 0f, c), [a, bm, c]);
        });

    private static (Action, IReadOnlyList<Tensor>) Conv(IBackend b, Conv2dGeometry g, Action<Tensor, Tensor, Tensor> op)
    {
        Tensor x = Random(b, g.InputShape, 3), w = Random(b, g.WeightShape, 4), y = Random(b, g.OutputShape, 5);
        return (() => op(x, w, y), [x, w, y]);
    }

    private static Tensor Random(IBackend backend, TensorShape shape, int seed)
    {
        var rng = new Random(seed);
        var values = new float[shape.ElementCount];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        Tensor t = backend.Allocate(shape);
        t.Upload(values);
        return t;
    }
}
