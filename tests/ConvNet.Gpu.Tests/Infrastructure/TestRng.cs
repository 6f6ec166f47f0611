namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// Seeded random test data. Every test run draws fresh inputs (testing.md: "fresh random inputs for every run; never test
/// on zeros"): the run's base seed comes from the CONVNET_TEST_SEED environment variable when set (to replay a failure),
/// otherwise from the clock, and each instance takes the next seed after it. The seed is part of every failure message
/// that passes <see cref="Label"/>.
/// </summary>
public sealed class TestRng
{
    private static readonly int BaseSeed =
        int.TryParse(Environment.GetEnvironmentVariable("CONVNET_TEST_SEED"), out int s) ? s : Environment.TickCount & 0x3FFFFFFF;
    private static int s_counter;

    private readonly Random _random;

    /// <summary>A generator with the next seed of this run.</summary>
    public TestRng() : this(BaseSeed + Interlocked.Increment(ref s_counter)) { }

    /// <summary>A generator with a fixed seed (for determinism checks that need the same data twice).</summary>
    public TestRng(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
    }

    /// <summary>The seed; replay with CONVNET_TEST_SEED = this value minus the instance number.</summary>
    public int Seed { get; }

    /// <summary>"case (seed 1234)": a label for assertion messages.</summary>
    public string Label(string what) => $"{what} (seed {Seed})";

    /// <summary>A float uniform in [lo, hi), redrawn when it is exactly 0.</summary>
    public float Next(float lo = -1f, float hi = 1f)
    {
        while (true)
        {
            float v = (float)(lo + (hi - lo) * _random.NextDouble());
            if (v != 0f) return v;
        }
    }

    /// <summary><paramref name="count"/> floats uniform in [lo, hi), none exactly 0.</summary>
    public float[] Uniform(long count, float lo = -1f, float hi = 1f)
    {
        var a = new float[count];
        for (long i = 0; i < count; i++) a[i] = Next(lo, hi);
        return a;
    }

    /// <summary>Floats in [-hi, -lo] ∪ [lo, hi]: kept at least <paramref name="lo"/> away from 0 (e.g. from a ReLU kink).</summary>
    public float[] AwayFromZero(long count, float lo, float hi = 1f)
    {
        var a = new float[count];
        for (long i = 0; i < count; i++)
        {
            float m = Next(lo, hi);
            a[i] = _random.Next(2) == 0 ? m : -m;
        }
        return a;
    }

    /// <summary>Class labels uniform in [0, classes).</summary>
    public int[] Labels(int count, int classes)
    {
        var a = new int[count];
        for (int i = 0; i < count; i++) a[i] = _random.Next(classes);
        return a;
    }

    /// <summary>A uniform integer in [lo, hi).</summary>
    public int NextInt(int lo, int hi) => _random.Next(lo, hi);

    /// <summary>A random permutation of 0..count-1, as floats: distinct values, so max-pool windows have no ties.</summary>
    public float[] DistinctValues(int count, float spacing = 0.01f)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (i - count / 2 + 0.5f) * spacing;
        _random.Shuffle(a);
        return a;
    }
}
