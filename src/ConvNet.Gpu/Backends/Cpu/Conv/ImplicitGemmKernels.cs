// The unrolled accumulator lists (14 pixels or taps x 2 vectors) were first emitted by a small script, now plain source;
// entries beyond the struct type parameters' constant Values are removed by the JIT.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ConvNet.Gpu.Backends.Cpu.Gemm;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// The register tiles of <see cref="ImplicitGemmConv"/>: up to 14 output pixels (forward) or 14 filter taps (weight
/// gradient) times one panel of 32 output channels, held in 28 zmm accumulators (two vectors of 16 channels each).
/// The input operand is broadcast straight from a zero-padded copy of the input rows (no im2col, no packing); the
/// other operand is one 32-channel vector pair per step: packed filters (forward) or the transposed output gradient
/// (weight gradient). Every accumulator sums its terms in a fixed order.
/// </summary>
internal static unsafe class ImplicitGemmKernels
{
    /// <summary>Most pixels or taps per register tile.</summary>
    public const int MaxTile = 14;

    /// <summary>Output channels per panel (two vectors).</summary>
    public const int Panel = 32;

    /// <summary>
    /// Forward tile: tmp[j*32 + l] = bias[l] + sum over taps t of x[tapOffsets[t] + j*stride] * w[t*32 + l], for
    /// <paramref name="pixels"/> pixels j of one output row (stride 1 or 2) and the panel's lanes l (the second vector
    /// only when <paramref name="vectors"/> is 2). <paramref name="bias"/> holds 32 floats (zeros when there is none).
    /// </summary>
    public static void Forward(int pixels, int stride, int vectors, float* x, int* tapOffsets, int taps, float* w, float* bias, float* tmp)
    {
        if (stride == 1)
        {
            if (vectors == 2) Forward<R1, R2>(pixels, x, tapOffsets, taps, w, bias, tmp);
            else Forward<R1, R1>(pixels, x, tapOffsets, taps, w, bias, tmp);
        }
        else
        {
            if (vectors == 2) Forward<R2, R2>(pixels, x, tapOffsets, taps, w, bias, tmp);
            else Forward<R2, R1>(pixels, x, tapOffsets, taps, w, bias, tmp);
        }
    }

    private static void Forward<TS, TV>(int pixels, float* x, int* tapOffsets, int taps, float* w, float* bias, float* tmp)
        where TS : struct, IRowCount where TV : struct, IRowCount
    {
        switch (pixels)
        {
            case 1: Forward<R1, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 2: Forward<R2, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 3: Forward<R3, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 4: Forward<R4, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 5: Forward<R5, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 6: Forward<R6, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 7: Forward<R7, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 8: Forward<R8, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 9: Forward<R9, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 10: Forward<R10, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 11: Forward<R11, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 12: Forward<R12, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 13: Forward<R13, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            case 14: Forward<R14, TS, TV>(x, tapOffsets, taps, w, bias, tmp); break;
            default: throw new ArgumentOutOfRangeException(nameof(pixels));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TP, TS, TV>(float* x, int* tapOffsets, int taps, float* w, float* bias, float* tmp)
        where TP : struct, IRowCount where TS : struct, IRowCount where TV : struct, IRowCount
    {
        var init0 = Vector512.Load(bias);
        var init1 = TV.Value > 1 ? Vector512.Load(bias + 16) : default;
        Vector512<float> a0 = init0, b0 = init1, a1 = init0, b1 = init1, a2 = init0, b2 = init1, a3 = init0, b3 = init1, a4 = init0, b4 = init1, a5 = init0, b5 = init1, a6 = init0, b6 = init1;
        Vector512<float> a7 = init0, b7 = init1, a8 = init0, b8 = init1, a9 = init0, b9 = init1, a10 = init0, b10 = init1, a11 = init0, b11 = init1, a12 = init0, b12 = init1, a13 = init0, b13 = init1;
        for (int t = 0; t < taps; t++, w += Panel)
        {
            float* xt = x + tapOffsets[t];
            var w0 = Vector512.Load(w);
            var w1 = TV.Value > 1 ? Vector512.Load(w + 16) : default;
            { var p = Vector512.Create(xt[0 * TS.Value]); a0 = Avx512F.FusedMultiplyAdd(p, w0, a0); if (TV.Value > 1) b0 = Avx512F.FusedMultiplyAdd(p, w1, b0); }
            if (TP.Value > 1) { var p = Vector512.Create(xt[1 * TS.Value]); a1 = Avx512F.FusedMultiplyAdd(p, w0, a1); if (TV.Value > 1) b1 = Avx512F.FusedMultiplyAdd(p, w1, b1); }
            if (TP.Value > 2) { var p = Vector512.Create(xt[2 * TS.Value]); a2 = Avx512F.FusedMultiplyAdd(p, w0, a2); if (TV.Value > 1) b2 = Avx512F.FusedMultiplyAdd(p, w1, b2); }
            if (TP.Value > 3) { var p = Vector512.Create(xt[3 * TS.Value]); a3 = Avx512F.FusedMultiplyAdd(p, w0, a3); if (TV.Value > 1) b3 = Avx512F.FusedMultiplyAdd(p, w1, b3); }
            if (TP.Value > 4) { var p = Vector512.Create(xt[4 * TS.Value]); a4 = Avx512F.FusedMultiplyAdd(p, w0, a4); if (TV.Value > 1) b4 = Avx512F.FusedMultiplyAdd(p, w1, b4); }
            if (TP.Value > 5) { var p = Vector512.Create(xt[5 * TS.Value]); a5 = Avx512F.FusedMultiplyAdd(p, w0, a5); if (TV.Value > 1) b5 = Avx512F.FusedMultiplyAdd(p, w1, b5); }
            if (TP.Value > 6) { var p = Vector512.Create(xt[6 * TS.Value]); a6 = Avx512F.FusedMultiplyAdd(p, w0, a6); if (TV.Value > 1) b6 = Avx512F.FusedMultiplyAdd(p, w1, b6); }
            if (TP.Value > 7) { var p = Vector512.Create(xt[7 * TS.Value]); a7 = Avx512F.FusedMultiplyAdd(p, w0, a7); if (TV.Value > 1) b7 = Avx512F.FusedMultiplyAdd(p, w1, b7); }
            if (TP.Value > 8) { var p = Vector512.Create(xt[8 * TS.Value]); a8 = Avx512F.FusedMultiplyAdd(p, w0, a8); if (TV.Value > 1) b8 = Avx512F.FusedMultiplyAdd(p, w1, b8); }
            if (TP.Value > 9) { var p = Vector512.Create(xt[9 * TS.Value]); a9 = Avx512F.FusedMultiplyAdd(p, w0, a9); if (TV.Value > 1) b9 = Avx512F.FusedMultiplyAdd(p, w1, b9); }
            if (TP.Value > 10) { var p = Vector512.Create(xt[10 * TS.Value]); a10 = Avx512F.FusedMultiplyAdd(p, w0, a10); if (TV.Value > 1) b10 = Avx512F.FusedMultiplyAdd(p, w1, b10); }
            if (TP.Value > 11) { var p = Vector512.Create(xt[11 * TS.Value]); a11 = Avx512F.FusedMultiplyAdd(p, w0, a11); if (TV.Value > 1) b11 = Avx512F.FusedMultiplyAdd(p, w1, b11); }
            if (TP.Value > 12) { var p = Vector512.Create(xt[12 * TS.Value]); a12 = Avx512F.FusedMultiplyAdd(p, w0, a12); if (TV.Value > 1) b12 = Avx512F.FusedMultiplyAdd(p, w1, b12); }
            if (TP.Value > 13) { var p = Vector512.Create(xt[13 * TS.Value]); a13 = Avx512F.FusedMultiplyAdd(p, w0, a13); if (TV.Value > 1) b13 = Avx512F.FusedMultiplyAdd(p, w1, b13); }
        }
        { a0.Store(tmp + 0); if (TV.Value > 1) b0.Store(tmp + 16); }
        if (TP.Value > 1) { a1.Store(tmp + 32); if (TV.Value > 1) b1.Store(tmp + 48); }
        if (TP.Value > 2) { a2.Store(tmp + 64); if (TV.Value > 1) b2.Store(tmp + 80); }
        if (TP.Value > 3) { a3.Store(tmp + 96); if (TV.Value > 1) b3.Store(tmp + 112); }
        if (TP.Value > 4) { a4.Store(tmp + 128); if (TV.Value > 1) b4.Store(tmp + 144); }
        if (TP.Value > 5) { a5.Store(tmp + 160); if (TV.Value > 1) b5.Store(tmp + 176); }
        if (TP.Value > 6) { a6.Store(tmp + 192); if (TV.Value > 1) b6.Store(tmp + 208); }
        if (TP.Value > 7) { a7.Store(tmp + 224); if (TV.Value > 1) b7.Store(tmp + 240); }
        if (TP.Value > 8) { a8.Store(tmp + 256); if (TV.Value > 1) b8.Store(tmp + 272); }
        if (TP.Value > 9) { a9.Store(tmp + 288); if (TV.Value > 1) b9.Store(tmp + 304); }
        if (TP.Value > 10) { a10.Store(tmp + 320); if (TV.Value > 1) b10.Store(tmp + 336); }
        if (TP.Value > 11) { a11.Store(tmp + 352); if (TV.Value > 1) b11.Store(tmp + 368); }
        if (TP.Value > 12) { a12.Store(tmp + 384); if (TV.Value > 1) b12.Store(tmp + 400); }
        if (TP.Value > 13) { a13.Store(tmp + 416); if (TV.Value > 1) b13.Store(tmp + 432); }
    }

    /// <summary>
    /// Weight-gradient tile: acc[j*32 + l] (read and written back) += sum over the pixels p of a block of output rows of
    /// x[p's input position + offs[j]] * dyT[p*32 + l], for <paramref name="count"/> taps j (offsets into the padded
    /// input) and the panel's lanes l. Pixels run row by row: <paramref name="rows"/> rows of <paramref name="cols"/>
    /// pixels, the input position advancing by <paramref name="colStride"/> per pixel and <paramref name="rowStride"/>
    /// per row; dyT holds 32 floats per pixel in the same order.
    /// </summary>
    public static void Weights(int count, int vectors, float* x, int* offs, float* dyT, int rows, int cols, int rowStride, int colStride, float* acc)
    {
        if (vectors == 2) Weights<R2>(count, x, offs, dyT, rows, cols, rowStride, colStride, acc);
        else Weights<R1>(count, x, offs, dyT, rows, cols, rowStride, colStride, acc);
    }

    private static void Weights<TV>(int count, float* x, int* offs, float* dyT, int rows, int cols, int rowStride, int colStride, float* acc)
        where TV : struct, IRowCount
    {
        switch (count)
        {
            case 1: Weights<R1, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 2: Weights<R2, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 3: Weights<R3, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 4: Weights<R4, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 5: Weights<R5, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 6: Weights<R6, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 7: Weights<R7, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 8: Weights<R8, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 9: Weights<R9, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 10: Weights<R10, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 11: Weights<R11, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 12: Weights<R12, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 13: Weights<R13, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            case 14: Weights<R14, TV>(x, offs, dyT, rows, cols, rowStride, colStride, acc); break;
            default: throw new ArgumentOutOfRangeException(nameof(count));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Weights<TT, TV>(float* x, int* offs, float* dyT, int rows, int cols, int rowStride, int colStride, float* acc)
        where TT : struct, IRowCount where TV : struct, IRowCount
    {
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
        Vector512<float> a8 = default, b8 = default, a9 = default, b9 = default, a10 = default, b10 = default, a11 = default, b11 = default;
        Vector512<float> a12 = default, b12 = default, a13 = default, b13 = default;
        int o0 = 0, o1 = 0, o2 = 0, o3 = 0, o4 = 0, o5 = 0, o6 = 0, o7 = 0, o8 = 0, o9 = 0, o10 = 0, o11 = 0, o12 = 0, o13 = 0;
        { a0 = Vector512.Load(acc + 0); if (TV.Value > 1) b0 = Vector512.Load(acc + 16); o0 = offs[0]; }
        if (TT.Value > 1) { a1 = Vector512.Load(acc + 32); if (TV.Value > 1) b1 = Vector512.Load(acc + 48); o1 = offs[1]; }
        if (TT.Value > 2) { a2 = Vector512.Load(acc + 64); if (TV.Value > 1) b2 = Vector512.Load(acc + 80); o2 = offs[2]; }
        if (TT.Value > 3) { a3 = Vector512.Load(acc + 96); if (TV.Value > 1) b3 = Vector512.Load(acc + 112); o3 = offs[3]; }
        if (TT.Value > 4) { a4 = Vector512.Load(acc + 128); if (TV.Value > 1) b4 = Vector512.Load(acc + 144); o4 = offs[4]; }
        if (TT.Value > 5) { a5 = Vector512.Load(acc + 160); if (TV.Value > 1) b5 = Vector512.Load(acc + 176); o5 = offs[5]; }
        if (TT.Value > 6) { a6 = Vector512.Load(acc + 192); if (TV.Value > 1) b6 = Vector512.Load(acc + 208); o6 = offs[6]; }
        if (TT.Value > 7) { a7 = Vector512.Load(acc + 224); if (TV.Value > 1) b7 = Vector512.Load(acc + 240); o7 = offs[7]; }
        if (TT.Value > 8) { a8 = Vector512.Load(acc + 256); if (TV.Value > 1) b8 = Vector512.Load(acc + 272); o8 = offs[8]; }
        if (TT.Value > 9) { a9 = Vector512.Load(acc + 288); if (TV.Value > 1) b9 = Vector512.Load(acc + 304); o9 = offs[9]; }
        if (TT.Value > 10) { a10 = Vector512.Load(acc + 320); if (TV.Value > 1) b10 = Vector512.Load(acc + 336); o10 = offs[10]; }
        if (TT.Value > 11) { a11 = Vector512.Load(acc + 352); if (TV.Value > 1) b11 = Vector512.Load(acc + 368); o11 = offs[11]; }
        if (TT.Value > 12) { a12 = Vector512.Load(acc + 384); if (TV.Value > 1) b12 = Vector512.Load(acc + 400); o12 = offs[12]; }
        if (TT.Value > 13) { a13 = Vector512.Load(acc + 416); if (TV.Value > 1) b13 = Vector512.Load(acc + 432); o13 = offs[13]; }
        for (int row = 0; row < rows; row++)
        {
            float* xp = x + (long)row * rowStride;
            for (int col = 0; col < cols; col++, xp += colStride, dyT += Panel)
            {
                var d0 = Vector512.Load(dyT);
                var d1 = TV.Value > 1 ? Vector512.Load(dyT + 16) : default;
                { var p = Vector512.Create(xp[o0]); a0 = Avx512F.FusedMultiplyAdd(p, d0, a0); if (TV.Value > 1) b0 = Avx512F.FusedMultiplyAdd(p, d1, b0); }
                if (TT.Value > 1) { var p = Vector512.Create(xp[o1]); a1 = Avx512F.FusedMultiplyAdd(p, d0, a1); if (TV.Value > 1) b1 = Avx512F.FusedMultiplyAdd(p, d1, b1); }
                if (TT.Value > 2) { var p = Vector512.Create(xp[o2]); a2 = Avx512F.FusedMultiplyAdd(p, d0, a2); if (TV.Value > 1) b2 = Avx512F.FusedMultiplyAdd(p, d1, b2); }
                if (TT.Value > 3) { var p = Vector512.Create(xp[o3]); a3 = Avx512F.FusedMultiplyAdd(p, d0, a3); if (TV.Value > 1) b3 = Avx512F.FusedMultiplyAdd(p, d1, b3); }
                if (TT.Value > 4) { var p = Vector512.Create(xp[o4]); a4 = Avx512F.FusedMultiplyAdd(p, d0, a4); if (TV.Value > 1) b4 = Avx512F.FusedMultiplyAdd(p, d1, b4); }
                if (TT.Value > 5) { var p = Vector512.Create(xp[o5]); a5 = Avx512F.FusedMultiplyAdd(p, d0, a5); if (TV.Value > 1) b5 = Avx512F.FusedMultiplyAdd(p, d1, b5); }
                if (TT.Value > 6) { var p = Vector512.Create(xp[o6]); a6 = Avx512F.FusedMultiplyAdd(p, d0, a6); if (TV.Value > 1) b6 = Avx512F.FusedMultiplyAdd(p, d1, b6); }
                if (TT.Value > 7) { var p = Vector512.Create(xp[o7]); a7 = Avx512F.FusedMultiplyAdd(p, d0, a7); if (TV.Value > 1) b7 = Avx512F.FusedMultiplyAdd(p, d1, b7); }
                if (TT.Value > 8) { var p = Vector512.Create(xp[o8]); a8 = Avx512F.FusedMultiplyAdd(p, d0, a8); if (TV.Value > 1) b8 = Avx512F.FusedMultiplyAdd(p, d1, b8); }
                if (TT.Value > 9) { var p = Vector512.Create(xp[o9]); a9 = Avx512F.FusedMultiplyAdd(p, d0, a9); if (TV.Value > 1) b9 = Avx512F.FusedMultiplyAdd(p, d1, b9); }
                if (TT.Value > 10) { var p = Vector512.Create(xp[o10]); a10 = Avx512F.FusedMultiplyAdd(p, d0, a10); if (TV.Value > 1) b10 = Avx512F.FusedMultiplyAdd(p, d1, b10); }
                if (TT.Value > 11) { var p = Vector512.Create(xp[o11]); a11 = Avx512F.FusedMultiplyAdd(p, d0, a11); if (TV.Value > 1) b11 = Avx512F.FusedMultiplyAdd(p, d1, b11); }
                if (TT.Value > 12) { var p = Vector512.Create(xp[o12]); a12 = Avx512F.FusedMultiplyAdd(p, d0, a12); if (TV.Value > 1) b12 = Avx512F.FusedMultiplyAdd(p, d1, b12); }
                if (TT.Value > 13) { var p = Vector512.Create(xp[o13]); a13 = Avx512F.FusedMultiplyAdd(p, d0, a13); if (TV.Value > 1) b13 = Avx512F.FusedMultiplyAdd(p, d1, b13); }
            }
        }
        { a0.Store(acc + 0); if (TV.Value > 1) b0.Store(acc + 16); }
        if (TT.Value > 1) { a1.Store(acc + 32); if (TV.Value > 1) b1.Store(acc + 48); }
        if (TT.Value > 2) { a2.Store(acc + 64); if (TV.Value > 1) b2.Store(acc + 80); }
        if (TT.Value > 3) { a3.Store(acc + 96); if (TV.Value > 1) b3.Store(acc + 112); }
        if (TT.Value > 4) { a4.Store(acc + 128); if (TV.Value > 1) b4.Store(acc + 144); }
        if (TT.Value > 5) { a5.Store(acc + 160); if (TV.Value > 1) b5.Store(acc + 176); }
        if (TT.Value > 6) { a6.Store(acc + 192); if (TV.Value > 1) b6.Store(acc + 208); }
        if (TT.Value > 7) { a7.Store(acc + 224); if (TV.Value > 1) b7.Store(acc + 240); }
        if (TT.Value > 8) { a8.Store(acc + 256); if (TV.Value > 1) b8.Store(acc + 272); }
        if (TT.Value > 9) { a9.Store(acc + 288); if (TV.Value > 1) b9.Store(acc + 304); }
        if (TT.Value > 10) { a10.Store(acc + 320); if (TV.Value > 1) b10.Store(acc + 336); }
        if (TT.Value > 11) { a11.Store(acc + 352); if (TV.Value > 1) b11.Store(acc + 368); }
        if (TT.Value > 12) { a12.Store(acc + 384); if (TV.Value > 1) b12.Store(acc + 400); }
        if (TT.Value > 13) { a13.Store(acc + 416); if (TV.Value > 1) b13.Store(acc + 432); }
    }
}
