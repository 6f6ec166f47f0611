using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Row kernels for softmax and the classification losses. A row is one sample's k class scores; rows are
/// independent, and each row's sums run in float64 in a fixed order.
/// </summary>
internal static unsafe class SoftmaxKernels
{
    /// <summary>What a softmax row leaves behind for the losses.</summary>
    public readonly record struct RowStats(float Max, double Sum);

    /// <summary>
    /// p = softmax(x) over one row of k: e = exp(x - max(x)) in float32, the sum of e in float64, p = e / sum.
    /// p may alias x.
    /// </summary>
    public static RowStats Forward(float* x, float* p, int k)
    {
        var xs = new ReadOnlySpan<float>(x, k);
        var ps = new Span<float>(p, k);
        float max = TensorPrimitives.Max(xs);
        TensorPrimitives.Subtract(xs, max, ps);
        TensorPrimitives.Exp(ps, ps);
        double sum = Reductions.Sum(p, k);
        TensorPrimitives.Multiply(ps, (float)(1.0 / sum), ps);
        return new RowStats(max, sum);
    }

    /// <summary>dx = y * (dy - sum(dy * y)) over one row, element by element, so dx may alias y or dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(float* y, float* dy, float* dx, int k)
    {
        float dot = (float)Reductions.Dot(dy, y, k);
        int j = 0, w = Vector<float>.Count;
        var vDot = new Vector<float>(dot);
        for (; j <= k - w; j += w)
        {
            var r = Unsafe.ReadUnaligned<Vector<float>>(y + j) * (Unsafe.ReadUnaligned<Vector<float>>(dy + j) - vDot);
            Unsafe.WriteUnaligned(dx + j, r);
        }
        for (; j < k; j++) dx[j] = y[j] * (dy[j] - dot);
    }

    /// <summary>Cross-entropy of one row: logsumexp(x) - x[label] = max + log(sum) - x[label]; NaN for a bad label.</summary>
    public static float CrossEntropyLoss(float targetLogit, RowStats stats, int label, int k) =>
        (uint)label < (uint)k ? (float)(stats.Max + Math.Log(stats.Sum) - targetLogit) : float.NaN;

    /// <summary>x[label], read before the softmax overwrites x in place; 0 for a bad label (never read out of bounds).</summary>
    public static float TargetLogit(float* x, int label, int k) => (uint)label < (uint)k ? x[label] : 0f;

    /// <summary>g = scale * (p - onehot(label)) over one row (g may alias p); a bad label gives a NaN row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CrossEntropyBackward(float* p, int label, float* g, int k, float scale)
    {
        var gs = new Span<float>(g, k);
        if ((uint)label >= (uint)k)
        {
            gs.Fill(float.NaN);
            return;
        }
        float target = (p[label] - 1f) * scale; // read before g, which may alias p, is written
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(p, k), scale, gs);
        g[label] = target;
    }

    /// <summary>
    /// Focal loss of one row, -(1 - p_t)^gamma * log(p_t), from the softmax left in p: log(p_t) = x_t - max - log(sum)
    /// (exact even when p_t underflows) and 1 - p_t = (sum of the other exponentials) / sum (no cancellation as p_t -> 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float FocalLoss(float targetLogit, float* p, RowStats stats, int label, int k, float gamma)
    {
        if ((uint)label >= (uint)k) return float.NaN;
        double logPt = targetLogit - (double)stats.Max - Math.Log(stats.Sum);
        double q = OthersSum(p, label, k);
        return (float)(-Math.Pow(q, gamma) * logPt);
    }

    /// <summary>
    /// Focal-loss gradient of one row from its probabilities. With q = 1 - p_t,
    /// dL/dz_j = g * (delta_jt - p_j) where g = p_t * dL/dp_t = gamma * q^(gamma-1) * p_t * log(p_t) - q^gamma.
    /// gamma = 0 gives g = -1 (cross-entropy); q = 0 gives g = 0 for gamma &gt; 0 (the limit); p_t = 0 drops the first term
    /// (p log p -> 0). q is the sum of the other probabilities in float64, and log(p_t) = log1p(-q) while q &lt; 1/2, so both
    /// stay accurate as p_t -> 1. A bad label gives a NaN row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FocalBackward(float* p, int label, float* g, int k, float gamma, float scale)
    {
        var gs = new Span<float>(g, k);
        if ((uint)label >= (uint)k)
        {
            gs.Fill(float.NaN);
            return;
        }
        double pt = p[label];
        double q = OthersSum(p, label, k);
        double coef;
        if (gamma == 0f) coef = -1.0;
        else if (q <= 0.0) coef = 0.0;
        else
        {
            double logPt = q < 0.5 ? Log1p(-q) : Math.Log(pt);
            double first = pt > 0.0 ? gamma * Math.Pow(q, gamma - 1.0) * pt * logPt : 0.0;
            coef = first - Math.Pow(q, gamma);
        }
        double s = scale * coef;
        // j != t: s * (0 - p_j); j = t: s * (1 - p_t) = s * q.
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(p, k), (float)-s, gs);
        g[label] = (float)(s * q);
    }

    /// <summary>Sum of p over the row except the label's entry, in float64 and a fixed order.</summary>
    private static double OthersSum(float* p, int label, int k) =>
        Reductions.Sum(p, label) + Reductions.Sum(p + label + 1, k - label - 1);

    /// <summary>log(1 + x) for |x| &lt; 1, accurate for small x (.NET has no log1p): log(u) * x / (u - 1) with u = 1 + x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Log1p(double x)
    {
        double u = 1.0 + x;
        return u == 1.0 ? x : Math.Log(u) * x / (u - 1.0);
    }
}
