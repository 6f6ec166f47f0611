using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Gradient clipping by global norm (PyTorch's <c>clip_grad_norm_</c>, Keras's <c>global_clipnorm</c>): with
/// ‖g‖ = sqrt(Σ over every gradient element of g²), every gradient is multiplied by min(1, <see cref="MaxNorm"/> / ‖g‖),
/// so the update keeps its direction and its norm is at most <see cref="MaxNorm"/>. Add it to
/// <see cref="Trainer.GradientHooks"/>, or set <see cref="TrainingOptions.GradientClipNorm"/>.
/// </summary>
/// <remarks>
/// <para>Everything runs on the gradients' backend, with no host round trip: per gradient an element-wise square and a
/// fixed-order sum into one device scalar s (accumulated in the parameters' order, so the norm is deterministic);
/// the factor min(1, MaxNorm / sqrt(s + 1e-12)) is computed on the device from s (the inference batch-norm op
/// evaluates MaxNorm / sqrt(s + ε), then 1 − ReLU(1 − r) takes the minimum with 1); and every gradient is scaled by that
/// device scalar. The ε of 1e-12 only matters when every gradient is zero (the factor is then 1).</para>
/// <para>A NaN or infinite gradient makes the factor NaN and the gradients NaN, as in PyTorch; the trainer's
/// non-finite-loss rule is what guards against that. Parameters without a gradient yet are skipped.</para>
/// </remarks>
public sealed class GlobalNormClipping : IGradientHook, IDisposable
{
    private const float Epsilon = 1e-12f;
    private readonly Workspace _buffers = new();
    private IBackend? _backend;

    /// <summary>Creates the hook.</summary>
    /// <param name="maxNorm">The largest global L2 norm the gradients may have, finite and positive.</param>
    /// <exception cref="ConvNetArgumentException"><paramref name="maxNorm"/> is not finite and positive.</exception>
    public GlobalNormClipping(float maxNorm)
    {
        if (!(maxNorm > 0f) || !float.IsFinite(maxNorm))
            throw new ConvNetArgumentException($"The clipping norm must be finite and positive, got {maxNorm}.", nameof(maxNorm));
        MaxNorm = maxNorm;
    }

    /// <summary>The largest global norm the gradients keep.</summary>
    public float MaxNorm { get; }

    /// <inheritdoc/>
    public void OnGradients(IReadOnlyList<Parameter> parameters, long globalStep)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var gradients = parameters.Where(p => p.HasGradient).Select(p => p.Gradient).ToArray();
        if (gradients.Length == 0) return;
        var b = gradients[0].Backend;
        if (!ReferenceEquals(b, _backend))
        {
            _buffers.Dispose();
            _backend = b;
        }
        var sum = Scalar("sum_of_squares");
        // One scratch buffer of the largest gradient's size (allocated once); each square goes into a view of its prefix.
        var scratch = _buffers.Get(b, "squares", TensorShape.Vector(checked((int)gradients.Max(g => g.ElementCount))));
        for (int i = 0; i < gradients.Length; i++)
        {
            var g = gradients[i];
            int n = checked((int)g.ElementCount);
            var squares = scratch.View(TensorShape.Vector(n));
            b.Mul(g, g, squares);
            b.ReduceSum(squares, sum, 1, n, 1, accumulate: i > 0);
        }

        // r = MaxNorm / sqrt(s + eps) through the inference batch norm on a 1x1x1x1 tensor holding MaxNorm
        // (mean 0, variance s, gamma 1, beta 0); then factor = 1 - ReLU(1 - r) = min(1, r).
        var max = Constant("max_norm", MaxNorm, TensorShape.Nchw(1, 1, 1, 1));
        var ratio = _buffers.Get(b, "ratio", TensorShape.Nchw(1, 1, 1, 1));
        b.BatchNorm2dForwardInference(max, Constant("one", 1f), Constant("zero", 0f), Constant("zero", 0f), sum, Epsilon, ratio);
        var one = Constant("one", 1f);
        var factor = Scalar("factor");
        b.Scale(ratio.Reshape(TensorShape.Vector(1)), -1f, factor);
        b.Add(factor, one, factor);
        b.ActivationForward(ActivationKind.ReLU, 0f, factor, factor);
        b.Scale(factor, -1f, factor);
        b.Add(factor, one, factor);
        foreach (var g in gradients)
        {
            var column = g.Reshape(new TensorShape([1, 1, checked((int)g.ElementCount)], ["N", "C", "X"]));
            b.ChannelAffine(column, factor, null, column);
        }
    }

    /// <summary>
    /// The global norm of the gradients of the latest step, before clipping (downloads one float from the device, so it
    /// waits for the step's work); null before the first step.
    /// </summary>
    public double? ReadLastNorm()
    {
        if (_backend is null) return null;
        var s = new float[1];
        Scalar("sum_of_squares").Download(s);
        return Math.Sqrt(s[0]);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose() => _buffers.Dispose();

    private Tensor Scalar(string key) => _buffers.Get(_backend!, key, TensorShape.Vector(1));

    // A constant on the device, uploaded when its buffer is first made.
    private Tensor Constant(string key, float value, TensorShape? shape = null)
    {
        shape ??= TensorShape.Vector(1);
        var t = _buffers.Get(_backend!, key, shape, out bool allocated);
        if (allocated) _backend!.Fill(t, value);
        return t;
    }
}
