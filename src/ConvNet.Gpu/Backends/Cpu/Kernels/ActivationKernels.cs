using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Point-wise activation kernels over one contiguous range of n elements. Every element is independent, so the
/// callers may split a tensor anywhere; outputs may alias inputs element for element (in-place activations).
/// </summary>
internal static unsafe class ActivationKernels
{
    /// <summary>Elements per stack block when an activation needs a float64 scratch (ELU).</summary>
    private const int Block = 256;

    /// <summary>y = f(x) over [0, n).</summary>
    public static void Forward(ActivationKind kind, float alpha, float* x, float* y, int n)
    {
        var xs = new ReadOnlySpan<float>(x, n);
        var ys = new Span<float>(y, n);
        switch (kind)
        {
            case ActivationKind.ReLU: TensorPrimitives.Max(xs, 0f, ys); break; // NaN propagates
            case ActivationKind.LeakyReLU: LeakyReLU(alpha, x, y, n); break;
            case ActivationKind.ELU: Elu(alpha, x, y, n); break;
            case ActivationKind.Sigmoid: TensorPrimitives.Sigmoid(xs, ys); break;
            case ActivationKind.Tanh: TensorPrimitives.Tanh(xs, ys); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    /// <summary>
    /// dx = f'(x) * dy over [0, n). ReLU and LeakyReLU branch on x; ELU branches on x and uses f'(x) = y + alpha for
    /// x &lt;= 0 (no exp, and right when x was overwritten by y in place); Sigmoid and Tanh use y only.
    /// </summary>
    public static void Backward(ActivationKind kind, float alpha, float* x, float* y, float* dy, float* dx, int n)
    {
        switch (kind)
        {
            case ActivationKind.ReLU: PiecewiseLinearBackward(0f, x, dy, dx, n); break;
            case ActivationKind.LeakyReLU: PiecewiseLinearBackward(alpha, x, dy, dx, n); break;
            case ActivationKind.ELU: EluBackward(alpha, x, y, dy, dx, n); break;
            case ActivationKind.Sigmoid: SigmoidBackward(y, dy, dx, n); break;
            case ActivationKind.Tanh: TanhBackward(y, dy, dx, n); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    private static void LeakyReLU(float alpha, float* x, float* y, int n)
    {
        int i = 0, w = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        for (; i <= n - w; i += w)
        {
            var v = Load(x + i);
            Store(y + i, Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * va));
        }
        for (; i < n; i++) y[i] = x[i] > 0f ? x[i] : x[i] * alpha;
    }

    /// <summary>ELU with exp(x) - 1 evaluated in float64, so small negative x keeps full relative accuracy (no expm1 in .NET).</summary>
    private static void Elu(float alpha, float* x, float* y, int n)
    {
        double* e = stackalloc double[Block];
        for (int start = 0; start < n; start += Block)
        {
            int len = Math.Min(Block, n - start);
            var es = new Span<double>(e, len);
            for (int k = 0; k < len; k++) e[k] = Math.Min(x[start + k], 0f);
            TensorPrimitives.Exp(es, es);
            for (int k = 0; k < len; k++)
            {
                float v = x[start + k];
                y[start + k] = v > 0f ? v : float.IsNaN(v) ? v : (float)(alpha * (e[k] - 1.0));
            }
        }
    }

    /// <summary>dx = x &gt; 0 ? dy : slope*dy (slope 0 is ReLU).</summary>
    private static void PiecewiseLinearBackward(float slope, float* x, float* dy, float* dx, int n)
    {
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(slope);
        for (; i <= n - w; i += w)
        {
            var g = Load(dy + i);
            Store(dx + i, Vector.ConditionalSelect(Vector.GreaterThan(Load(x + i), Vector<float>.Zero), g, g * vs));
        }
        for (; i < n; i++) dx[i] = x[i] > 0f ? dy[i] : dy[i] * slope;
    }

    private static void EluBackward(float alpha, float* x, float* y, float* dy, float* dx, int n)
    {
        int i = 0, w = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        for (; i <= n - w; i += w)
        {
            var g = Load(dy + i);
            Store(dx + i, Vector.ConditionalSelect(Vector.GreaterThan(Load(x + i), Vector<float>.Zero), g, g * (Load(y + i) + va)));
        }
        for (; i < n; i++) dx[i] = x[i] > 0f ? dy[i] : dy[i] * (y[i] + alpha);
    }

    private static void SigmoidBackward(float* y, float* dy, float* dx, int n)
    {
        int i = 0, w = Vector<float>.Count;
        for (; i <= n - w; i += w)
        {
            var s = Load(y + i);
            Store(dx + i, Load(dy + i) * s * (Vector<float>.One - s));
        }
        for (; i < n; i++) dx[i] = dy[i] * y[i] * (1f - y[i]);
    }

    private static void TanhBackward(float* y, float* dy, float* dx, int n)
    {
        int i = 0, w = Vector<float>.Count;
        for (; i <= n - w; i += w)
        {
            var t = Load(y + i);
            Store(dx + i, Load(dy + i) * (Vector<float>.One - t * t));
        }
        for (; i < n; i++) dx[i] = dy[i] * (1f - y[i] * y[i]);
    }
}
