namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 optimizer steps (PyTorch semantics, as documented on IBackend). Arrays are updated in place.</summary>
public static class OptimizerReference
{
    /// <summary>g = grad + wd*param; v = momentum*v + g; param -= lr * (nesterov ? g + momentum*v : v); momentum 0: param -= lr*g, v untouched.</summary>
    public static void Sgd(double[] param, double[] grad, double[] velocity, double lr, double momentum, double wd, bool nesterov)
    {
        for (int i = 0; i < param.Length; i++)
        {
            double g = grad[i] + wd * param[i];
            if (momentum == 0) { param[i] -= lr * g; continue; }
            velocity[i] = momentum * velocity[i] + g;
            param[i] -= lr * (nesterov ? g + momentum * velocity[i] : velocity[i]);
        }
    }

    /// <summary>Adam (L2 decay folded into g) or AdamW (param *= 1 - lr*wd), with bias correction at step t (1-based).</summary>
    public static void Adam(double[] param, double[] grad, double[] m, double[] v, double lr, double b1, double b2, double eps,
        double wd, bool decoupled, int t)
    {
        for (int i = 0; i < param.Length; i++)
        {
            double g = grad[i];
            if (decoupled) param[i] *= 1 - lr * wd;
            else g += wd * param[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mh = m[i] / (1 - Math.Pow(b1, t)), vh = v[i] / (1 - Math.Pow(b2, t));
            param[i] -= lr * mh / (Math.Sqrt(vh) + eps);
        }
    }
}
