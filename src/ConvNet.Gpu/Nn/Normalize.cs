using System.Text.Json.Nodes;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Input normalization as part of the model: y[n, c, ...] = (x[n, c, ...] − Mean[c]) / Std[c] per channel (the first
/// sample dimension: C of (C, H, W), each feature of (F)). Put it first, and the statistics travel with the weights:
/// they are saved in the checkpoint's architecture, and <c>Predict</c>, <c>Evaluate</c> and training all apply them,
/// so raw inputs (pixels in [0, 1]) are all a caller ever passes. One mean and one std may serve every channel.
/// </summary>
/// <remarks>
/// <para>No trainable parameters: the statistics are fixed hyper-parameters (compute them with
/// <see cref="FromDataset"/> on the training set). The forward pass is one per-channel affine map on the backend,
/// x · (1/std) + (−mean/std) with both constants rounded once from float64, so it agrees with (x − mean) / std to a
/// few units in the last place; the backward pass scales the gradient by 1/std.</para>
/// <para>Saved as <c>{"type": "Normalize", "mean": [...], "std": [...]}</c>, each value stored exactly (a float32 written
/// in its shortest round-trip form). Exporters map it to (x − mean) / std with constants of shape (1, C, 1, 1).</para>
/// </remarks>
public sealed class Normalize : Layer
{
    private readonly float[] _mean, _std;
    private Tensor? _scale, _shift;

    /// <summary>Creates the layer from one mean and one standard deviation per channel (or a single pair for all channels).</summary>
    /// <exception cref="ConvNetArgumentException">The lists are empty or differ in length, a mean is not finite, or a std is not finite and positive.</exception>
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std, string? name = null) : base(name)
    {
        // ChannelNormalization owns the checks (and their messages).
        var statistics = new ChannelNormalization(mean, std);
        _mean = [.. statistics.Mean];
        _std = [.. statistics.Std];
    }

    /// <summary>Creates the layer with the statistics of <paramref name="statistics"/>.</summary>
    public Normalize(ChannelNormalization statistics, string? name = null)
        : this((statistics ?? throw new ArgumentNullException(nameof(statistics))).Mean, statistics.Std, name)
    {
    }

    /// <summary>
    /// A layer with the per-channel mean and population std of <paramref name="data"/>'s inputs (float64, two passes;
    /// see <see cref="ChannelNormalization.FromDataset"/>). Use the training set, and give the model raw inputs everywhere.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The dataset is empty or a channel is constant.</exception>
    public static Normalize FromDataset(Dataset data, string? name = null) => new(ChannelNormalization.FromDataset(data), name);

    /// <inheritdoc/>
    public override string TypeName => "Normalize";

    /// <summary>The value subtracted from each channel (one value: every channel).</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The divisor of each channel (one value: every channel).</summary>
    public IReadOnlyList<float> Std => _std;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        if (_mean.Length != 1 && inputShape[0] != _mean.Length)
            throw new ShapeMismatchException(
                $"Normalize '{Name}' has statistics for {_mean.Length} channels but its input {inputShape} has {inputShape[0]}.");
        return inputShape;
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        int channels = InputShape[0];
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double mean = _mean[_mean.Length == 1 ? 0 : c], std = _std[_std.Length == 1 ? 0 : c];
            scale[c] = (float)(1.0 / std);
            shift[c] = (float)(-mean / std);
        }
        _scale = Buffer("scale", TensorShape.Vector(channels));
        _scale.Upload(scale);
        _shift = Buffer("shift", TensorShape.Vector(channels));
        _shift.Upload(shift);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        var y = Buffer("y", input.Shape[0]);
        Backend.ChannelAffine(input, _scale!, _shift, y);
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        var dx = Buffer("dx", gradOutput.Shape[0]);
        Backend.ChannelAffine(gradOutput, _scale!, null, dx);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["mean"] = new JsonArray([.. _mean.Select(v => (JsonNode)JsonValue.Create(v))]);
        config["std"] = new JsonArray([.. _std.Select(v => (JsonNode)JsonValue.Create(v))]);
    }

    internal static Normalize FromConfig(JsonObject c) =>
        new(ReadFloats(c, "mean"), ReadFloats(c, "std"), c.GetOptionalString("name"));

    // Reads a list of numbers as float32 directly from their text (no detour through double).
    private static float[] ReadFloats(JsonObject c, string key) =>
        c.GetArray(key).Select((node, i) => node is JsonValue v && v.TryGetValue(out float f) ? f
            : throw new ConvNetArgumentException($"Architecture: Normalize \"{key}\"[{i}] must be a number, got {node?.ToJsonString() ?? "null"}.")).ToArray();
}
