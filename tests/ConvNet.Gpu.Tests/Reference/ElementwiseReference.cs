namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 dropout, element-wise ops and reductions (the Elementwise op family).</summary>
public static class ElementwiseReference
{
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
