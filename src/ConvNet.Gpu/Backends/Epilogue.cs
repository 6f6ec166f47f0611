namespace ConvNet.Gpu;

/// <summary>
/// What a convolution or dense forward applies to its GEMM result before writing it: y = act(z + bias), the bias coming
/// from the op's optional bias argument and the activation from here (none by default). Fusing them saves one pass over
/// the output per layer; the float operations are those of a separate bias add and activation, so results are the same
/// bits. The matching backward ops recover the activation's derivative from the output y alone, which needs
/// <see cref="CanDifferentiateFromOutput"/> (LeakyReLU and ELU with alpha &gt;= 0, or any other kind).
/// </summary>
/// <param name="Activation">The activation applied after the bias, or null for none.</param>
/// <param name="Alpha">LeakyReLU's negative slope or ELU's saturation; ignored otherwise.</param>
public readonly record struct Epilogue(ActivationKind? Activation, float Alpha = 0f)
{
    /// <summary>No activation (only the bias, when the op has one).</summary>
    public static Epilogue None => default;

    /// <summary>The activation <paramref name="kind"/> after the bias.</summary>
    public static Epilogue Of(ActivationKind kind, float alpha = 0f) => new(kind, alpha);

    /// <summary>
    /// Whether f'(x) follows from y = f(x): always for ReLU, Sigmoid and Tanh; for LeakyReLU and ELU when alpha &gt;= 0
    /// (then y &gt; 0 exactly when x &gt; 0).
    /// </summary>
    public bool CanDifferentiateFromOutput =>
        Activation is not (ActivationKind.LeakyReLU or ActivationKind.ELU) || Alpha >= 0f;

    /// <inheritdoc/>
    public override string ToString() => Activation is { } kind ? $"bias + {kind}{(kind is ActivationKind.LeakyReLU or ActivationKind.ELU ? $"({Alpha})" : "")}" : "bias only";
}
