namespace ConvNet.Gpu.Tests.Reference;

/// <summary>Naive float64 softmax, softmax cross-entropy and focal loss over rows of (rows, classes).</summary>
public static class SoftmaxLossReference
{
    /// <summary>Row-wise softmax, shifted by the row maximum for stability.</summary>
    public static double[] Forward(double[] x, int rows, int classes)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < classes; j++) max = Math.Max(max, x[r * classes + j]);
            for (int j = 0; j < classes; j++) sum += Math.Exp(x[r * classes + j] - max);
            for (int j = 0; j < classes; j++) y[r * classes + j] = Math.Exp(x[r * classes + j] - max) / sum;
        }
        return y;
    }

    /// <summary>dx[i] = sum over j of dy[j] * dy_j/dx_i = sum_j dy[j] * y[j] * (δij - y[i]) (the Jacobian written out).</summary>
    public static double[] Backward(double[] y, double[] dy, int rows, int classes)
    {
        var dx = new double[y.Length];
        for (int r = 0; r < rows; r++)
        for (int i = 0; i < classes; i++)
        {
            double s = 0;
            for (int j = 0; j < classes; j++)
                s += dy[r * classes + j] * y[r * classes + j] * ((i == j ? 1 : 0) - y[r * classes + i]);
            dx[r * classes + i] = s;
        }
        return dx;
    }

    /// <summary>Losses[r] = log(sum_j exp(x[r, j])) - x[r, label[r]].</summary>
    public static double[] CrossEntropyLosses(double[] logits, int[] labels, int rows, int classes)
    {
        var loss = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < classes; j++) max = Math.Max(max, logits[r * classes + j]);
            for (int j = 0; j < classes; j++) sum += Math.Exp(logits[r * classes + j] - max);
            loss[r] = max + Math.Log(sum) - logits[r * classes + labels[r]];
        }
        return loss;
    }

    /// <summary>dLogits = scale * (p - onehot(label)).</summary>
    public static double[] CrossEntropyBackward(double[] p, int[] labels, int rows, int classes, double scale)
    {
        var g = new double[p.Length];
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < classes; j++)
            g[r * classes + j] = scale * (p[r * classes + j] - (j == labels[r] ? 1 : 0));
        return g;
    }

    /// <summary>Focal loss -(1 - p_t)^gamma * log(p_t), p_t = softmax(logits)[r, label].</summary>
    public static double[] FocalLosses(double[] logits, int[] labels, int rows, int classes, double gamma)
    {
        var p = Forward(logits, rows, classes);
        var loss = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double pt = p[r * classes + labels[r]];
            loss[r] = -Math.Pow(1 - pt, gamma) * Math.Log(pt);
        }
        return loss;
    }

    /// <summary>
    /// d(focal)/d(logit j) = dL/dp_t * dp_t/dz_j with dL/dp_t = gamma (1-p_t)^(gamma-1) log p_t - (1-p_t)^gamma / p_t and
    /// dp_t/dz_j = p_t (δ(j, label) - p_j); times <paramref name="scale"/>.
    /// </summary>
    public static double[] FocalBackward(double[] p, int[] labels, int rows, int classes, double gamma, double scale)
    {
        var g = new double[p.Length];
        for (int r = 0; r < rows; r++)
        {
            double pt = p[r * classes + labels[r]];
            double dLdpt = (gamma == 0 ? 0 : gamma * Math.Pow(1 - pt, gamma - 1) * Math.Log(pt)) - Math.Pow(1 - pt, gamma) / pt;
            for (int j = 0; j < classes; j++)
                g[r * classes + j] = scale * dLdpt * pt * ((j == labels[r] ? 1 : 0) - p[r * classes + j]);
        }
        return g;
    }
}
