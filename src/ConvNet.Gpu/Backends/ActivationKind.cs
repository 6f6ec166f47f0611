namespace ConvNet.Gpu;

/// <summary>Point-wise activation functions. <c>alpha</c> is the negative slope (LeakyReLU) or the saturation value (ELU).</summary>
public enum ActivationKind
{
    /// <summary>max(x, 0); gradient 1 where x &gt; 0.</summary>
    ReLU,
    /// <summary>x for x &gt; 0, alpha*x otherwise.</summary>
    LeakyReLU,
    /// <summary>x for x &gt; 0, alpha*(exp(x) - 1) otherwise.</summary>
    ELU,
    /// <summary>1 / (1 + exp(-x)).</summary>
    Sigmoid,
    /// <summary>tanh(x).</summary>
    Tanh,
}
