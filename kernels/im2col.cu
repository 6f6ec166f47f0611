// im2col.cu: the data-movement halves of convolution as GEMM (Caffe's im2col/col2im, with groups,
// asymmetric padding and dilation), plus the batch/channel transpose used by backward-weights.
//
// Shapes: input x (N, C, H, W); columns hold, for sample n, row r = (c*KH + kh)*KW + kw and column
// p = oh*OW + ow, the tap x[n, c, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW] (0 outside the input).
// Where the columns live is given by two strides so one kernel serves both layouts:
//   (N, C*KH*KW, OH*OW): sampleStride = C*KH*KW*OH*OW, rowStride = OH*OW   (forward, backward-data)
//   (C*KH*KW, N*OH*OW):  sampleStride = OH*OW,         rowStride = N*OH*OW (backward-weights: one GEMM over the batch)
//
// Index arithmetic: every flat index is split into coordinates with at most one division per dimension, and each
// division is a multiply-high by a constant the host precomputed (cn_fastdiv.cuh; the *Magic arguments are
// FastDivisor.Magic of the divisor named before "Magic"). The col2im tap loop tests divisibility by the stride the same way.
#include "cn_fastdiv.cuh"

// One thread per column element: total = N*C*KH*KW*OH*OW. A pure gather, every element written.
// i -> (t, p) by OH*OW; t -> (n, r) by C*KH*KW; p -> (oh, ow) by OW; r -> (c, k) by KH*KW; k -> (kh, kw) by KW.
// Aliasing: none.
CN_KERNEL cn_im2col(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) col, long long total,
                    int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW,
                    int OH, int OW, long long sampleStride, long long rowStride,
                    unsigned long long planeMagic, unsigned long long rowsMagic, unsigned long long owMagic,
                    unsigned long long kkMagic, unsigned long long kwMagic)
{
    const int plane = OH * OW, rows = C * KH * KW, kk = KH * KW;
    CN_GRID_STRIDE(i, total)
    {
        long long p, r;
        const long long t = cn_fdivmod(i, plane, planeMagic, &p);
        const long long n = cn_fdivmod(t, rows, rowsMagic, &r);
        int ow, k, kw;
        const int oh = cn_fdivmod32((int)p, OW, owMagic, &ow);
        const int c = cn_fdivmod32((int)r, kk, kkMagic, &k);
        const int kh = cn_fdivmod32(k, KW, kwMagic, &kw);
        const int h = oh * SH - PT + kh * DH;
        const int w = ow * SW - PL + kw * DW;
        float v = 0.0f;
        if (h >= 0 && h < H && w >= 0 && w < W)
            v = x[(((long long)n * C + c) * H + h) * W + w];
        col[n * sampleStride + r * rowStride + p] = v;
    }
}

// col2im as a gather: one thread per input element (total = N*C*H*W) sums, in a fixed (kh, kw) order,
// every column entry that im2col copied from it. No atomics, so the result is bit-reproducible.
// Columns in the (N, C*KH*KW, OH*OW) layout. x is overwritten.
// i -> (nc, hw) by H*W; nc -> (n, c) by C; hw -> (h, w) by W. Tap (kh, kw) reads (h, w) when h + PT - kh*DH = oh*SH
// for some 0 <= oh < OH (likewise w): the quotient and remainder by SH come from one multiply-high.
// Aliasing: none.
CN_KERNEL cn_col2im(GPTR_UNIQUE(const float) col, GPTR_UNIQUE(float) x, long long total,
                    int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW,
                    int OH, int OW, unsigned long long hwMagic, unsigned long long cMagic, unsigned long long wMagic,
                    unsigned long long shMagic, unsigned long long swMagic)
{
    const long long plane = (long long)OH * OW;
    CN_GRID_STRIDE(i, total)
    {
        long long hw, cc;
        const long long nc = cn_fdivmod(i, (long long)H * W, hwMagic, &hw);   // n*C + c
        const long long n = cn_fdivmod(nc, C, cMagic, &cc);
        int w;
        const int h = cn_fdivmod32((int)hw, W, wMagic, &w);
        const int c = (int)cc;
        // Sample n's rows for channel c start at row c*KH*KW.
        const long long base = (n * C * KH * KW + (long long)c * KH * KW) * plane;
        float sum = 0.0f;
        for (int kh = 0; kh < KH; ++kh)
        {
            const int hs = h + PT - kh * DH;           // = oh*SH when this tap of output row oh reads (h, w)
            if (hs < 0) break;                         // hs only decreases with kh
            int hr;
            const int oh = cn_fdivmod32(hs, SH, shMagic, &hr);
            if (hr != 0 || oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw)
            {
                const int ws = w + PL - kw * DW;
                if (ws < 0) break;
                int wr;
                const int ow = cn_fdivmod32(ws, SW, swMagic, &wr);
                if (wr != 0 || ow >= OW) continue;
                sum += col[base + (long long)(kh * KW + kw) * plane + (long long)oh * OW + ow];
            }
        }
        x[i] = sum;
    }
}

// y[b, a, i] = x[a, b, i]: swaps the two outer axes of x viewed as (A, B, inner); total = A*B*inner.
// Backward-weights uses it to lay dY (N, K, OH*OW) out as (K, N*OH*OW). i -> (t, e) by inner; t -> (b, a) by A.
// Aliasing: none.
CN_KERNEL cn_swap_outer(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long total, int A, int B, long long inner,
                        unsigned long long innerMagic, unsigned long long aMagic)
{
    CN_GRID_STRIDE(i, total)
    {
        long long e, a;
        const long long t = cn_fdivmod(i, inner, innerMagic, &e);   // = b*A + a in the output
        const long long b = cn_fdivmod(t, A, aMagic, &a);
        y[i] = x[(a * B + b) * inner + e];
    }
}
