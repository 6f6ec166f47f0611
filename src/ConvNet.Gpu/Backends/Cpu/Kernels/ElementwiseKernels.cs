using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>Element-wise kernels that TensorPrimitives has no single call for.</summary>
internal static unsafe class ElementwiseKernels
{
    /// <summary>
    /// Inverted dropout over elements [start, end): mask[i] = u(seed, offset + i) &gt;= p ? 1/(1-p) : 0, y[i] = x[i] * mask[i].
    /// i is the element's index in the whole tensor, so any split gives the same mask as the CUDA kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dropout(float* x, float* y, float* mask, int start, int end, float p, ulong seed, ulong offset)
    {
        float keepScale = 1f / (1f - p);
        var vKeep = Vector256.Create(keepScale);
        var vP = Vector256.Create(p);
        var lanes = Vector256.Create(0UL, 1UL, 2UL, 3UL);
        var four = Vector256.Create(4UL);
        int i = start;
        for (; i <= end - 8; i += 8)
        {
            var counter = Vector256.Create(offset + (ulong)i) + lanes;
            var u = Vector256.Create(UniformBits(seed, counter), UniformBits(seed, counter + four)).AsInt32();
            // The top 24 bits are below 2^24, so int -> float is exact, as is the scale by 2^-24: same bits as DropoutRng.
            var uniform = Vector256.ConvertToSingle(u) * Vector256.Create(1.0f / 16777216.0f);
            var m = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(uniform, vP), vKeep, Vector256<float>.Zero);
            m.Store(mask + i);
            (Vector256.Load(x + i) * m).Store(y + i);
        }
        for (; i < end; i++)
        {
            float m = DropoutRng.Uniform(seed, offset + (ulong)i) >= p ? keepScale : 0f;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }

    /// <summary>
    /// <see cref="DropoutRng.Uniform"/>'s SplitMix64 finalizer for four counters, returning the top 24 bits of each
    /// result (as 32-bit lanes in the low half).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> UniformBits(ulong seed, Vector256<ulong> counter)
    {
        var z = Vector256.Create(seed) + (counter + Vector256<ulong>.One) * Vector256.Create(0x9E3779B97F4A7C15UL);
        z = (z ^ (z >>> 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >>> 27)) * Vector256.Create(0x94D049BB133111EBUL);
        z ^= z >>> 31;
        var top = (z >>> 40).AsUInt32(); // lanes 0, 2, 4, 6 hold the values (little-endian low halves)
        return Vector256.Shuffle(top, Vector256.Create(0u, 2u, 4u, 6u, 0u, 2u, 4u, 6u)).GetLower();
    }

    /// <summary>y[i] = x[i] * scale + shift over [0, n) (multiply, then add: two roundings, like TensorPrimitives.MultiplyAdd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleShift(float* x, float scale, float shift, float* y, int n)
    {
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(scale);
        var vt = new Vector<float>(shift);
        for (; i <= n - w; i += w)
            Unsafe.WriteUnaligned(y + i, Unsafe.ReadUnaligned<Vector<float>>(x + i) * vs + vt);
        for (; i < n; i++) y[i] = x[i] * scale + shift;
    }
}
