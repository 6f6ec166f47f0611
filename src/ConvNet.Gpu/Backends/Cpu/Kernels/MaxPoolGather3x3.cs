using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Max-pool backward for 3x3 windows, column stride 2 and column padding 1 (ResNet's stem pooling), as a vectorized
/// gather: input column 2j belongs to window column j only, and column 2j + 1 to window columns j and j + 1. For 16
/// window columns at a time, every covering window row contributes dY where its argmax is the element (else +0), in
/// row-major window order, the same order and bits as the general gather; even and odd columns are then interleaved
/// into 32 consecutive input elements.
/// </summary>
internal static unsafe class MaxPoolGather3x3
{
    /// <summary>Whether the geometry fits: 3-wide windows, column stride 2, column padding 1, AVX-512F.</summary>
    public static bool Applies(Pool2dGeometry g) => Avx512F.IsSupported && g.KW == 3 && g.SW == 2 && g.PadW == 1 && g.OW >= 17;

    /// <summary>
    /// dX of one plane. Columns [0, 2 * (last block + 16)) come from the vector blocks (the last block shifted left to
    /// end at window column OW - 2, recomputing identical values); the rest from <paramref name="scalar"/>(h, w).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Plane(float* dy, int* argmax, float* dx, Pool2dGeometry g, PoolWindows win, Func<int, int, float> scalar)
    {
        int wIn = g.W, oW = g.OW, last = oW - 17; // lanes read window columns ow and ow + 1 <= OW - 1
        var lane2 = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var lo = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var hi = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        int vectorEnd = Math.Min(wIn, 2 * (last + 16));
        float* buf = stackalloc float[32];
        for (int h = 0; h < g.H; h++)
        {
            int ohLo = win.RowCoverLo[h], ohHi = win.RowCoverHi[h];
            float* row = dx + (long)h * wIn;
            for (int ow0 = 0; ow0 <= last + 15; ow0 += 16)
            {
                int ow = Math.Min(ow0, last);
                var meEven = Vector512.Create(h * wIn + 2 * ow) + lane2;
                var meOdd = meEven + Vector512<int>.One;
                var even = Vector512<float>.Zero;
                var odd = Vector512<float>.Zero;
                for (int oh = ohLo; oh <= ohHi; oh++)
                {
                    float* d = dy + (long)oh * oW + ow;
                    int* a = argmax + (long)oh * oW + ow;
                    var d0 = Vector512.Load(d);
                    var a0 = Vector512.Load(a);
                    var d1 = Vector512.Load(d + 1);
                    var a1 = Vector512.Load(a + 1);
                    even += d0 & Vector512.Equals(a0, meEven).AsSingle();
                    odd += d0 & Vector512.Equals(a0, meOdd).AsSingle();
                    odd += d1 & Vector512.Equals(a1, meOdd).AsSingle();
                }
                float* dst = row + 2 * ow;
                if (2 * ow + 32 <= wIn)
                {
                    Avx512F.PermuteVar16x32x2(even, lo, odd).Store(dst);
                    Avx512F.PermuteVar16x32x2(even, hi, odd).Store(dst + 16);
                }
                else
                {
                    // The plane ends inside this block (W = 2 * OW - 1 or so): store through a buffer.
                    Avx512F.PermuteVar16x32x2(even, lo, odd).Store(buf);
                    Avx512F.PermuteVar16x32x2(even, hi, odd).Store(buf + 16);
                    for (int i = 0; 2 * ow + i < wIn && i < 32; i++) dst[i] = buf[i];
                }
            }
            for (int w = vectorEnd; w < wIn; w++) row[w] = scalar(h, w);
        }
    }
}
