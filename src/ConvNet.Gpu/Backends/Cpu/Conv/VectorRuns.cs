using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// Vector loops over short contiguous runs (an image row, one output plane), inlined into their callers. Callers are
/// compiled with full optimization from the first call, so the first training steps do not run tier-0 library code.
/// Every reduction here has a fixed order (eight lanes, then lane order, then the tail), so results are reproducible.
/// </summary>
internal static unsafe class VectorRuns
{
    /// <summary>d[0..n) = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero(float* d, int n) => Fill(d, 0f, n);

    /// <summary>d[0..n) = value. Runs of 8 or more end with one overlapping vector instead of a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Fill(float* d, float value, int n)
    {
        var v = Vector256.Create(value);
        if (n >= 8)
        {
            for (int j = 0; j + 8 < n; j += 8) v.Store(d + j);
            v.Store(d + n - 8);
            return;
        }
        for (int i = 0; i < n; i++) d[i] = value;
    }

    /// <summary>d[0..n) = s[0..n) (non-overlapping runs). Runs of 8 or more end with one overlapping vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* s, float* d, int n)
    {
        if (n >= 8)
        {
            for (int j = 0; j + 8 < n; j += 8) Vector256.Load(s + j).Store(d + j);
            Vector256.Load(s + n - 8).Store(d + n - 8);
            return;
        }
        int i = 0;
        if (n >= 4)
        {
            Vector128.Load(s).Store(d);
            Vector128.Load(s + n - 4).Store(d + n - 4);
            return;
        }
        for (; i < n; i++) d[i] = s[i];
    }

    /// <summary>d[i] += s[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float* s, float* d, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) (Vector256.Load(d + i) + Vector256.Load(s + i)).Store(d + i);
        if (i + 4 <= n)
        {
            (Vector128.Load(d + i) + Vector128.Load(s + i)).Store(d + i);
            i += 4;
        }
        for (; i < n; i++) d[i] += s[i];
    }

    /// <summary>d[i] += value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScalar(float* d, float value, int n)
    {
        var v = Vector256.Create(value);
        int i = 0;
        for (; i + 8 <= n; i += 8) (Vector256.Load(d + i) + v).Store(d + i);
        for (; i < n; i++) d[i] += value;
    }

    /// <summary>d[i] += a * s[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float* d, float* s, float a, int n)
    {
        var va = Vector256.Create(a);
        int i = 0;
        for (; i + 8 <= n; i += 8) (Vector256.Load(d + i) + va * Vector256.Load(s + i)).Store(d + i);
        for (; i < n; i++) d[i] += a * s[i];
    }

    /// <summary>Sum of a[i] * b[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8) acc += Vector256.Load(a + i) * Vector256.Load(b + i);
        float s = Vector256.Sum(acc);
        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Sum of a[0..n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(float* a, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8) acc += Vector256.Load(a + i);
        float s = Vector256.Sum(acc);
        for (; i < n; i++) s += a[i];
        return s;
    }
}
