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
    /// <summary>Elements per stack block when an activation needs a scratch buffer (ELU).</summary>
    private const int Block = 256;

    /// <summary>y = f(x) over [0, n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>
    /// ELU: y = x for x &gt; 0, else alpha * expm1(x). .NET has no expm1 and exp(x) - 1 loses the relative accuracy of
    /// small |x| to cancellation, so on (-1/2, 0] expm1 is its degree-8 Taylor polynomial (truncation below 2e-8
    /// relative); below that exp(x) - 1 &lt;= -0.39 and the subtraction is harmless. NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Elu(float alpha, float* x, float* y, int n)
    {
        float* e = stackalloc float[Block];
        int w = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        var half = new Vector<float>(-0.5f);
        for (int start = 0; start < n; start += Block)
        {
            int len = Math.Min(Block, n - start);
            float* xs = x + start, ys = y + start;
            var es = new Span<float>(e, len);
            TensorPrimitives.Min(new ReadOnlySpan<float>(xs, len), 0f, es); // exp only of the negative part: no overflow
            TensorPrimitives.Exp(es, es);
            int k = 0;
            for (; k <= len - w; k += w)
            {
                var v = Load(xs + k);
                var em1 = Vector.ConditionalSelect(Vector.GreaterThan(v, half), Expm1Small(v), Load(e + k) - Vector<float>.One);
                Store(ys + k, Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, va * em1));
            }
            for (; k < len; k++)
            {
                float v = xs[k];
                float em1 = v > -0.5f ? Expm1Small(v) : e[k] - 1f;
                ys[k] = v > 0f ? v : alpha * em1;
            }
        }
    }

    /// <summary>expm1(v) for v in (-1/2, 0]: v * (1 + v/2 * (1 + v/3 * (1 + ... (1 + v/8)))), Horner form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Expm1Small(Vector<float> v)
    {
        var one = Vector<float>.One;
        var r = one + v * new Vector<float>(1f / 8f);
        r = one + v * new Vector<float>(1f / 7f) * r;
        r = one + v * new Vector<float>(1f / 6f) * r;
        r = one + v * new Vector<float>(1f / 5f) * r;
        r = one + v * new Vector<float>(1f / 4f) * r;
        r = one + v * new Vector<float>(1f / 3f) * r;
        r = one + v * new Vector<float>(1f / 2f) * r;
        return v * r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Expm1Small(float v)
    {
        float r = 1f + v * (1f / 8f);
        r = 1f + v * (1f / 7f) * r;
        r = 1f + v * (1f / 6f) * r;
        r = 1f + v * (1f / 5f) * r;
        r = 1f + v * (1f / 4f) * r;
        r = 1f + v * (1f / 3f) * r;
        r = 1f + v * (1f / 2f) * r;
        return v * r;
    }

    /// <summary>dx = x &gt; 0 ? dy : slope*dy (slope 0 is ReLU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
