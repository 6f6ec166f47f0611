using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// The transposing copy behind packing when the source runs along the reduction axis: source rows
/// (row r at src + r*ld, contiguous over p) become dst[p*stride + r]. 8 x 8 blocks go through AVX register transposes,
/// 4 x 4 blocks through SSE ones, and only the ragged remainder is scalar.
/// </summary>
internal static unsafe class PanelTranspose
{
    /// <summary>dst[p * stride + r] = scale * src[r * ld + p] for r &lt; rows, p &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* src, long ld, int rows, int count, float* dst, int stride, float scale)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= rows; r += 8)
            {
                int p = 0;
                for (; p + 8 <= count; p += 8) Block8(src + r * ld + p, ld, dst + (long)p * stride + r, stride, scale);
                Scalar(src + r * ld, ld, 8, p, count, dst + r, stride, scale);
            }
            for (; r + 4 <= rows; r += 4)
            {
                int p = 0;
                for (; p + 4 <= count; p += 4) Block4(src + r * ld + p, ld, dst + (long)p * stride + r, stride, scale);
                Scalar(src + r * ld, ld, 4, p, count, dst + r, stride, scale);
            }
        }
        Scalar(src + r * ld, ld, rows - r, 0, count, dst + r, stride, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scalar(float* src, long ld, int rows, int p0, int count, float* dst, int stride, float scale)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = src + r * ld;
            for (int p = p0; p < count; p++) dst[(long)p * stride + r] = scale * s[p];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block8(float* s, long ld, float* d, int stride, float scale)
    {
        var v = Vector256.Create(scale);
        Vector256<float> r0 = Avx.LoadVector256(s) * v, r1 = Avx.LoadVector256(s + ld) * v;
        Vector256<float> r2 = Avx.LoadVector256(s + 2 * ld) * v, r3 = Avx.LoadVector256(s + 3 * ld) * v;
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * ld) * v, r5 = Avx.LoadVector256(s + 5 * ld) * v;
        Vector256<float> r6 = Avx.LoadVector256(s + 6 * ld) * v, r7 = Avx.LoadVector256(s + 7 * ld) * v;
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: output q holds column q.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + stride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * stride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * stride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * stride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * stride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * stride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * stride, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Block4(float* s, long ld, float* d, int stride, float scale)
    {
        var v = Vector128.Create(scale);
        Vector128<float> r0 = Sse.LoadVector128(s) * v, r1 = Sse.LoadVector128(s + ld) * v;
        Vector128<float> r2 = Sse.LoadVector128(s + 2 * ld) * v, r3 = Sse.LoadVector128(s + 3 * ld) * v;
        var t0 = Sse.UnpackLow(r0, r1); var t1 = Sse.UnpackHigh(r0, r1);
        var t2 = Sse.UnpackLow(r2, r3); var t3 = Sse.UnpackHigh(r2, r3);
        Sse.Store(d, Sse.MoveLowToHigh(t0, t2));
        Sse.Store(d + stride, Sse.MoveHighToLow(t2, t0));
        Sse.Store(d + 2 * stride, Sse.MoveLowToHigh(t1, t3));
        Sse.Store(d + 3 * stride, Sse.MoveHighToLow(t3, t1));
    }
}
