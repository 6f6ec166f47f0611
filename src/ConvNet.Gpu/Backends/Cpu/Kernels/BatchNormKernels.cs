using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Per-plane batch-norm maps, evaluated in float64 so that a large channel mean does not cost precision, and narrowed
/// once. A plane is the contiguous run of one (n, c) pair; elements are independent, so any split gives the same bits.
/// </summary>
internal static unsafe class BatchNormKernels
{
    /// <summary>y[i] = (x[i] - mean) * scale + shift over [0, n); y may alias x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(float* x, float* y, int n, double mean, double scale, double shift)
    {
        var vm = Vector256.Create(mean);
        var vs = Vector256.Create(scale);
        var vt = Vector256.Create(shift);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(x + i));
            Vector256.Narrow((lo - vm) * vs + vt, (hi - vm) * vs + vt).Store(y + i);
        }
        for (; i < n; i++) y[i] = (float)((x[i] - mean) * scale + shift);
    }

    /// <summary>dx[i] = kDy * dy[i] + kX * (x[i] - mean) + k0 over [0, n); dx may alias dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(float* x, float* dy, float* dx, int n, double mean, double kDy, double kX, double k0)
    {
        var vm = Vector256.Create(mean);
        var va = Vector256.Create(kDy);
        var vb = Vector256.Create(kX);
        var vc = Vector256.Create(k0);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (xlo, xhi) = Vector256.Widen(Vector256.Load(x + i));
            var (glo, ghi) = Vector256.Widen(Vector256.Load(dy + i));
            Vector256.Narrow(va * glo + vb * (xlo - vm) + vc, va * ghi + vb * (xhi - vm) + vc).Store(dx + i);
        }
        for (; i < n; i++) dx[i] = (float)(kDy * dy[i] + kX * (x[i] - mean) + k0);
    }
}
