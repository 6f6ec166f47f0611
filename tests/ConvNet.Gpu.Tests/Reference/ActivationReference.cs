namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 activations (the Activation op family).</summary>
public static class ActivationReference
{
    /// <summary>f(x) for one activation (alpha: LeakyReLU slope, ELU saturation).</summary>
    public static double Activation(ActivationKind kind, double alpha, double x) => kind switch
    {
        ActivationKind.ReLU => x > 0 ? x : 0,
        ActivationKind.LeakyReLU => x > 0 ? x : alpha * x,
        ActivationKind.ELU => x > 0 ? x : alpha * (Math.Exp(x) - 1),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>f'(x), from the calculus (independent of how a backend chooses between x and y).</summary>
    public static double ActivationDerivative(ActivationKind kind, double alpha, double x) => kind switch
    {
        ActivationKind.ReLU => x > 0 ? 1 : 0,
        ActivationKind.LeakyReLU => x > 0 ? 1 : alpha,
        ActivationKind.ELU => x > 0 ? 1 : alpha * Math.Exp(x),
        ActivationKind.Sigmoid => Math.Exp(-x) / ((1 + Math.Exp(-x)) * (1 + Math.Exp(-x))),
        ActivationKind.Tanh => 1 / (Math.Cosh(x) * Math.Cosh(x)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>y = f(x) element-wise.</summary>
    public static double[] ActivationForward(ActivationKind kind, double alpha, double[] x) =>
        Array.ConvertAll(x, v => Activation(kind, alpha, v));

    /// <summary>dx = f'(x) * dy element-wise.</summary>
    public static double[] ActivationBackward(ActivationKind kind, double alpha, double[] x, double[] dy)
    {
        var dx = new double[x.Length];
        for (int i = 0; i < x.Length; i++) dx[i] = ActivationDerivative(kind, alpha, x[i]) * dy[i];
        return dx;
    }
}
