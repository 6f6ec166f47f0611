using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Inverted dropout: in training, each element is kept with probability 1 - p and scaled by 1/(1 - p); in
/// evaluation the layer is the identity. Masks come from the backend's counter-based generator
/// (<see cref="DropoutRng"/>) at (<see cref="Seed"/>, <see cref="Counter"/> + i); the counter advances by the element
/// count on every training call, so masks differ per step yet are reproducible, including after resuming from a
/// checkpoint that saved the counter.
/// </summary>
public sealed class Dropout : Layer
{
    private Tensor? _mask;
    private bool _lastWasTraining;

    /// <summary>Creates dropout with drop probability <paramref name="rate"/> in [0, 1).</summary>
    /// <param name="rate">Probability of zeroing an element.</param>
    /// <param name="seed">Mask seed; null derives it from the model seed when the layer is built.</param>
    /// <param name="name">Layer name.</param>
    public Dropout(float rate, ulong? seed = null, string? name = null) : base(name)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ConvNetArgumentException($"Dropout rate must be in [0, 1), got {rate}.", nameof(rate));
        Rate = rate;
        ExplicitSeed = seed;
    }

    /// <inheritdoc/>
    public override string TypeName => "Dropout";

    /// <summary>Drop probability.</summary>
    public float Rate { get; }

    /// <summary>The seed given to the constructor, if any.</summary>
    public ulong? ExplicitSeed { get; }

    /// <summary>
    /// When set (by a training loop that replays CUDA graphs), training forwards read the seed and counter from these 4
    /// Int32 words on the device (<see cref="DropoutRng.WriteSeedAndOffset"/>), which that loop uploads before every step
    /// from <see cref="Seed"/> and <see cref="Counter"/>, instead of passing them as launch arguments a graph would bake
    /// in. The masks are the same bits either way; the counter still advances on the host.
    /// </summary>
    internal Tensor? DeviceSeedAndOffset { get; set; }

    /// <summary>The mask seed in use.</summary>
    public ulong Seed { get; set; }

    /// <summary>Counter of the next random draw; saved in checkpoints.</summary>
    public ulong Counter { get; set; }

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory) => Seed = ExplicitSeed ?? factory.Seed;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        _lastWasTraining = training && Rate > 0f;
        if (!_lastWasTraining) return input;
        int n = input.Shape[0];
        var y = Buffer("y", n);
        _mask = Buffer("mask", n);
        if (DeviceSeedAndOffset is { } words) Backend.DropoutForward(input, y, _mask, Rate, words);
        else Backend.DropoutForward(input, y, _mask, Rate, Seed, Counter);
        Counter += (ulong)input.ElementCount;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        if (!_lastWasTraining) return gradOutput;
        var dx = InputGradientBuffer(gradOutput.Shape[0]);
        Backend.Mul(gradOutput, _mask!, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["rate"] = Rate;
        if (ExplicitSeed is ulong s) config["seed"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static Dropout FromConfig(JsonObject c)
    {
        string? seed = c.GetOptionalString("seed");
        return new Dropout(c.GetFloat("rate"), seed is null ? null : ulong.Parse(seed, System.Globalization.CultureInfo.InvariantCulture),
            c.GetOptionalString("name"));
    }
}
