using System.Numerics;
using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Optimizer updates over one contiguous range of n parameters (PyTorch semantics, see IBackend). Every parameter is
/// independent, so callers may split anywhere. The vector and scalar paths do the same float32 operations in the same
/// order, so an element's result does not depend on where a split falls.
/// </summary>
internal static unsafe class OptimizerKernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>
    /// g = grad + wd*param; with momentum: v = momentum*v + g and param -= lr * (nesterov ? g + momentum*v : v);
    /// without: param -= lr*g, velocity untouched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sgd(float* param, float* grad, float* velocity, int n, float lr, float momentum, float wd, bool nesterov)
    {
        int i = 0, w = Vector<float>.Count;
        var vlr = new Vector<float>(lr);
        var vmom = new Vector<float>(momentum);
        var vwd = new Vector<float>(wd);
        if (momentum == 0f)
        {
            for (; i <= n - w; i += w)
            {
                var p = Load(param + i);
                Store(param + i, p - vlr * (Load(grad + i) + vwd * p));
            }
            for (; i < n; i++) param[i] -= lr * (grad[i] + wd * param[i]);
            return;
        }

        for (; i <= n - w; i += w)
        {
            var p = Load(param + i);
            var g = Load(grad + i) + vwd * p;
            var v = vmom * Load(velocity + i) + g;
            Store(velocity + i, v);
            Store(param + i, p - vlr * (nesterov ? g + vmom * v : v));
        }
        for (; i < n; i++)
        {
            float p = param[i];
            float g = grad[i] + wd * p;
            float v = momentum * velocity[i] + g;
            velocity[i] = v;
            param[i] = p - lr * (nesterov ? g + momentum * v : v);
        }
    }

    /// <summary>
    /// Adam / AdamW for one range. <paramref name="stepSize"/> = lr / (1 - beta1^t) and <paramref name="bc2Sqrt"/> =
    /// sqrt(1 - beta2^t) are computed by the caller in float64. As in PyTorch: AdamW first scales param by 1 - lr*wd;
    /// Adam adds wd*param to the gradient; then m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
    /// param -= stepSize * m / (sqrt(v) / bc2Sqrt + eps).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam(float* param, float* grad, float* m, float* v, int n, float lr, float beta1, float beta2, float eps,
        float wd, bool decoupled, float stepSize, float bc2Sqrt)
    {
        float decay = decoupled ? 1f - lr * wd : 1f;
        float gradDecay = decoupled ? 0f : wd;
        float c1 = 1f - beta1, c2 = 1f - beta2;
        int i = 0, w = Vector<float>.Count;
        var vDecay = new Vector<float>(decay);
        var vGradDecay = new Vector<float>(gradDecay);
        var vb1 = new Vector<float>(beta1);
        var vb2 = new Vector<float>(beta2);
        var vc1 = new Vector<float>(c1);
        var vc2 = new Vector<float>(c2);
        var vEps = new Vector<float>(eps);
        var vStep = new Vector<float>(stepSize);
        var vBc2 = new Vector<float>(bc2Sqrt);
        for (; i <= n - w; i += w)
        {
            var p = Load(param + i);
            var g = Load(grad + i) + vGradDecay * p;
            p *= vDecay;
            var mm = vb1 * Load(m + i) + vc1 * g;
            var vv = vb2 * Load(v + i) + vc2 * (g * g);
            Store(m + i, mm);
            Store(v + i, vv);
            Store(param + i, p - vStep * mm / (Vector.SquareRoot(vv) / vBc2 + vEps));
        }
        for (; i < n; i++)
        {
            float p = param[i];
            float g = grad[i] + gradDecay * p;
            p *= decay;
            float mm = beta1 * m[i] + c1 * g;
            float vv = beta2 * v[i] + c2 * (g * g);
            m[i] = mm;
            v[i] = vv;
            param[i] = p - stepSize * mm / (MathF.Sqrt(vv) / bc2Sqrt + eps);
        }
    }
}
