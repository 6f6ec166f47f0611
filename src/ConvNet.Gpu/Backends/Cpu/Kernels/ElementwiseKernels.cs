using System.Numerics;
using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>Element-wise kernels that TensorPrimitives has no single call for.</summary>
internal static unsafe class ElementwiseKernels
{
    /// <summary>
    /// Inverted dropout over elements [start, end): mask[i] = u(seed, offset + i) &gt;= p ? 1/(1-p) : 0, y[i] = x[i] * mask[i].
    /// i is the element's index in the whole tensor, so any split gives the same mask as the CUDA kernel.
    /// </summary>
    public static void Dropout(float* x, float* y, float* mask, int start, int end, float p, ulong seed, ulong offset)
    {
        float keepScale = 1f / (1f - p);
        for (int i = start; i < end; i++)
        {
            float m = DropoutRng.Uniform(seed, offset + (ulong)i) >= p ? keepScale : 0f;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }

    /// <summary>y[i] = x[i] * scale + shift over [0, n) (multiply, then add: two roundings, like TensorPrimitives.MultiplyAdd).</summary>
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
