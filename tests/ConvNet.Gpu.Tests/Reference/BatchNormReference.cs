namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 batch normalization per channel over (N, rest): x viewed as (N, C, rest).</summary>
public static class BatchNormReference
{
    /// <summary>Outputs of training-mode forward.</summary>
    public sealed record Training(double[] Y, double[] Mean, double[] InvStd, double[] RunningMean, double[] RunningVar);

    /// <summary>
    /// Training forward: mean and biased variance over (N, rest); y = gamma (x - mean) / sqrt(var + eps) + beta; running
    /// statistics move by momentum toward the batch mean and the unbiased variance (M/(M-1) var, M = N*rest).
    /// </summary>
    public static Training ForwardTraining(double[] x, double[] gamma, double[] beta, double[] runMean, double[] runVar,
        int n, int c, int rest, double momentum, double eps)
    {
        int m = n * rest;
        var y = new double[x.Length];
        var mean = new double[c];
        var inv = new double[c];
        var rm = (double[])runMean.Clone();
        var rv = (double[])runVar.Clone();
        for (int j = 0; j < c; j++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) for (int r = 0; r < rest; r++) s += x[(i * c + j) * rest + r];
            double mu = s / m, v = 0;
            for (int i = 0; i < n; i++) for (int r = 0; r < rest; r++) v += Math.Pow(x[(i * c + j) * rest + r] - mu, 2);
            v /= m;
            mean[j] = mu;
            inv[j] = 1 / Math.Sqrt(v + eps);
            for (int i = 0; i < n; i++)
            for (int r = 0; r < rest; r++)
            {
                int at = (i * c + j) * rest + r;
                y[at] = gamma[j] * (x[at] - mu) * inv[j] + beta[j];
            }
            rm[j] = (1 - momentum) * rm[j] + momentum * mu;
            rv[j] = (1 - momentum) * rv[j] + momentum * (m > 1 ? v * m / (m - 1) : v);
        }
        return new Training(y, mean, inv, rm, rv);
    }

    /// <summary>Inference: y = gamma (x - runningMean) / sqrt(runningVar + eps) + beta.</summary>
    public static double[] ForwardInference(double[] x, double[] gamma, double[] beta, double[] runMean, double[] runVar,
        int n, int c, int rest, double eps)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
        for (int r = 0; r < rest; r++)
        {
            int at = (i * c + j) * rest + r;
            y[at] = gamma[j] * (x[at] - runMean[j]) / Math.Sqrt(runVar[j] + eps) + beta[j];
        }
        return y;
    }

    /// <summary>
    /// Training-mode gradients, with xhat = (x - mean) * invStd and M = N*rest: dbeta = sum dy, dgamma = sum dy*xhat,
    /// dx = gamma*invStd/M * (M dy - dbeta - xhat dgamma).
    /// </summary>
    public static (double[] Dx, double[] DGamma, double[] DBeta) Backward(double[] x, double[] dy, double[] gamma,
        double[] mean, double[] invStd, int n, int c, int rest)
    {
        int m = n * rest;
        var dx = new double[x.Length];
        var dg = new double[c];
        var db = new double[c];
        for (int j = 0; j < c; j++)
        {
            for (int i = 0; i < n; i++)
            for (int r = 0; r < rest; r++)
            {
                int at = (i * c + j) * rest + r;
                db[j] += dy[at];
                dg[j] += dy[at] * (x[at] - mean[j]) * invStd[j];
            }
            for (int i = 0; i < n; i++)
            for (int r = 0; r < rest; r++)
            {
                int at = (i * c + j) * rest + r;
                double xhat = (x[at] - mean[j]) * invStd[j];
                dx[at] = gamma[j] * invStd[j] / m * (m * dy[at] - db[j] - xhat * dg[j]);
            }
        }
        return (dx, dg, db);
    }
}
