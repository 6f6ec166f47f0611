namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 activations, dropout and element-wise ops.</summary>
public static class PointwiseReference
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

    /// <summary>Inverted dropout: mask[i] = u(seed, offset + i) &gt;= p ? 1/(1-p) : 0 with <see cref="DropoutRng"/>; y = x * mask.</summary>
    public static (double[] Y, double[] Mask) Dropout(double[] x, double p, ulong seed, ulong offset)
    {
        var y = new double[x.Length];
        var mask = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            mask[i] = DropoutRng.Uniform(seed, offset + (ulong)i) >= p ? 1 / (1 - p) : 0;
            y[i] = x[i] * mask[i];
        }
        return (y, mask);
    }

    /// <summary>y[o, i] = sum over r of x[o, r, i].</summary>
    public static double[] ReduceSum(double[] x, int outer, int reduce, int inner)
    {
        var y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
        for (int r = 0; r < reduce; r++)
        for (int i = 0; i < inner; i++)
            y[o * inner + i] += x[(o * reduce + r) * inner + i];
        return y;
    }

    /// <summary>y[n, c, r] = x[n, c, r] * scale[c] + shift[c] (shift optional): x viewed as (N, C, rest).</summary>
    public static double[] ChannelAffine(double[] x, double[] scale, double[]? shift, int n, int c, int rest)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        for (int r = 0; r < rest; r++)
        {
            int at = (i * c + j) * rest + r;
            y[at] = x[at] * scale[j] + (shift?[j] ?? 0);
        }
        return y;
    }

    /// <summary>Element-wise map of two arrays.</summary>
    public static double[] Zip(double[] a, double[] b, Func<double, double, double> f)
    {
        var y = new double[a.Length];
        for (int i = 0; i < a.Length; i++) y[i] = f(a[i], b[i]);
        return y;
    }
}
