using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Float64-accumulated reductions of float32 runs. The lane layout depends only on the length (never on the address,
/// the thread or the machine's vector width), so the same input always gives the same bits. Products of two floats
/// are exact in float64, so the dot products only round in the accumulation.
/// </summary>
internal static unsafe class Reductions
{
    /// <summary>Sum of p[0..n) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Sum(float* p, int n)
    {
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(p + i));
            acc0 += lo;
            acc1 += hi;
        }
        double s = Horizontal(acc0 + acc1);
        for (; i < n; i++) s += p[i];
        return s;
    }

    /// <summary>Sum of a[i] * b[i] over [0, n) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot(float* a, float* b, int n)
    {
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (alo, ahi) = Vector256.Widen(Vector256.Load(a + i));
            var (blo, bhi) = Vector256.Widen(Vector256.Load(b + i));
            acc0 += alo * blo;
            acc1 += ahi * bhi;
        }
        double s = Horizontal(acc0 + acc1);
        for (; i < n; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>Sum of (p[i] - shift)^2 over [0, n) in float64: the second pass of a two-pass variance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumSquaredDeviations(float* p, int n, double shift)
    {
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        var m = Vector256.Create(shift);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(p + i));
            lo -= m;
            hi -= m;
            acc0 += lo * lo;
            acc1 += hi * hi;
        }
        double s = Horizontal(acc0 + acc1);
        for (; i < n; i++)
        {
            double d = p[i] - shift;
            s += d * d;
        }
        return s;
    }

    /// <summary>Sum of b[i] * (a[i] - shift) over [0, n) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double DotCentered(float* a, double shift, float* b, int n)
    {
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        var m = Vector256.Create(shift);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (alo, ahi) = Vector256.Widen(Vector256.Load(a + i));
            var (blo, bhi) = Vector256.Widen(Vector256.Load(b + i));
            acc0 += (alo - m) * blo;
            acc1 += (ahi - m) * bhi;
        }
        double s = Horizontal(acc0 + acc1);
        for (; i < n; i++) s += (a[i] - shift) * b[i];
        return s;
    }

    /// <summary>
    /// Column sums of a strided block: acc[i] += sum over r &lt; rows of x[r*stride + i], for i &lt; len, rows added in
    /// order. Each column is one float64 accumulator, so the result is independent of how columns are split.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddRows(float* x, int rows, long stride, int len, double* acc)
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = x + r * stride;
            int i = 0;
            for (; i <= len - 8; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(row + i));
                (Vector256.Load(acc + i) + lo).Store(acc + i);
                (Vector256.Load(acc + i + 4) + hi).Store(acc + i + 4);
            }
            for (; i < len; i++) acc[i] += row[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Horizontal(Vector256<double> v) => (v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3));
}
