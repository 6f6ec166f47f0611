namespace ConvNet.Gpu.Initializers;

/// <summary>
/// Fills a parameter with starting values on the host (seeded, deterministic), to be uploaded once.
/// Fan-in and fan-out follow PyTorch: for a weight (out, in, kh, kw), fanIn = in*kh*kw and fanOut = out*kh*kw;
/// for a dense weight (out, in), fanIn = in and fanOut = out.
/// </summary>
public abstract class Initializer
{
    /// <summary>Short name used in model descriptions, e.g. "he_uniform".</summary>
    public abstract string Name { get; }

    /// <summary>Fills <paramref name="values"/> for a parameter with the given fans.</summary>
    public abstract void Fill(Span<float> values, int fanIn, int fanOut, HostRandom random);

    /// <summary>
    /// U(-b, b) with b = 1 / sqrt(fanIn): PyTorch's default for the weights and biases of <c>nn.Linear</c> and
    /// <c>nn.Conv2d</c> (its <c>kaiming_uniform_(a=sqrt(5))</c> gives this bound, and the bias uses the weight's fan-in).
    /// The default of <c>Conv2D</c> and <c>Dense</c> for weights and biases, and of <c>ConvTranspose2D</c> for weights.
    /// Chosen by measurement (benchmarks/results/2026-11-29-accuracy.md): on the default LeNet-5 job it trains half a
    /// point better than He uniform (bound sqrt(6 / fanIn), 2.45 times larger), and no other scheme tried on a validation
    /// split (LeCun, Glorot, half-size weights, zero biases) trained better; with it the job matches PyTorch's accuracy
    /// over 48 seeds.
    /// </summary>
    public static Initializer FanInUniform { get; } = new FanInUniformInitializer();

    /// <summary>He (Kaiming) uniform: U(-b, b) with b = sqrt(6 / fanIn); suited to ReLU.</summary>
    public static Initializer HeUniform { get; } = new HeInitializer(uniform: true);

    /// <summary>He (Kaiming) normal: N(0, 2 / fanIn).</summary>
    public static Initializer HeNormal { get; } = new HeInitializer(uniform: false);

    /// <summary>Glorot (Xavier) uniform: U(-b, b) with b = sqrt(6 / (fanIn + fanOut)); suited to tanh and sigmoid.</summary>
    public static Initializer GlorotUniform { get; } = new GlorotInitializer(uniform: true);

    /// <summary>Glorot (Xavier) normal: N(0, 2 / (fanIn + fanOut)).</summary>
    public static Initializer GlorotNormal { get; } = new GlorotInitializer(uniform: false);

    /// <summary>All zeros (the usual bias initializer).</summary>
    public static Initializer Zeros { get; } = new ConstantInitializer(0f);

    /// <summary>All ones (batch-norm scale).</summary>
    public static Initializer Ones { get; } = new ConstantInitializer(1f);

    /// <summary>Every element set to <paramref name="value"/>.</summary>
    public static Initializer Constant(float value) => new ConstantInitializer(value);

    /// <summary>Looks an initializer up by its <see cref="Name"/> (as written in a saved architecture).</summary>
    public static Initializer FromName(string name) => name switch
    {
        "fan_in_uniform" => FanInUniform,
        "he_uniform" => HeUniform,
        "he_normal" => HeNormal,
        "glorot_uniform" => GlorotUniform,
        "glorot_normal" => GlorotNormal,
        "zeros" => Zeros,
        "ones" => Ones,
        _ when name.StartsWith("constant:", StringComparison.Ordinal) =>
            Constant(float.Parse(name.AsSpan("constant:".Length), System.Globalization.CultureInfo.InvariantCulture)),
        _ => throw new ConvNetArgumentException(
            $"Unknown initializer '{name}'; expected fan_in_uniform, he_uniform, he_normal, glorot_uniform, glorot_normal, zeros, ones or constant:<value>.", nameof(name)),
    };

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Fills with U(-bound, bound) or N(0, std^2).</summary>
    protected static void Fill(Span<float> values, HostRandom random, bool uniform, double variance)
    {
        if (uniform)
        {
            float bound = (float)Math.Sqrt(3.0 * variance);
            for (int i = 0; i < values.Length; i++) values[i] = random.NextUniform(-bound, bound);
        }
        else
        {
            double std = Math.Sqrt(variance);
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextGaussian() * std);
        }
    }

    private sealed class HeInitializer(bool uniform) : Initializer
    {
        public override string Name => uniform ? "he_uniform" : "he_normal";
        public override void Fill(Span<float> values, int fanIn, int fanOut, HostRandom random) =>
            Fill(values, random, uniform, 2.0 / Math.Max(1, fanIn));
    }

    private sealed class FanInUniformInitializer : Initializer
    {
        public override string Name => "fan_in_uniform";

        public override void Fill(Span<float> values, int fanIn, int fanOut, HostRandom random)
        {
            float bound = (float)(1.0 / Math.Sqrt(Math.Max(1, fanIn)));
            for (int i = 0; i < values.Length; i++) values[i] = random.NextUniform(-bound, bound);
        }
    }

    private sealed class GlorotInitializer(bool uniform) : Initializer
    {
        public override string Name => uniform ? "glorot_uniform" : "glorot_normal";
        public override void Fill(Span<float> values, int fanIn, int fanOut, HostRandom random) =>
            Fill(values, random, uniform, 2.0 / Math.Max(1, fanIn + fanOut));
    }

    private sealed class ConstantInitializer(float value) : Initializer
    {
        public override string Name => value switch
        {
            0f => "zeros",
            1f => "ones",
            _ => "constant:" + value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        public override void Fill(Span<float> values, int fanIn, int fanOut, HostRandom random) => values.Fill(value);
    }
}
