// im2col.cu: the data-movement halves of convolution as GEMM (Caffe's im2col/col2im, with groups,
// asymmetric padding and dilation), plus the batch/channel transpose used by backward-weights.
//
// Shapes: input x (N, C, H, W); columns hold, for sample n, row r = (c*KH + kh)*KW + kw and column
// p = oh*OW + ow, the tap x[n, c, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW] (0 outside the input).
// Where the columns live is given by two strides so one kernel serves both layouts:
//   (N, C*KH*KW, OH*OW): sampleStride = C*KH*KW*OH*OW, rowStride = OH*OW   (forward, backward-data)
//   (C*KH*KW, N*OH*OW):  sampleStride = OH*OW,         rowStride = N*OH*OW (backward-weights: one GEMM over the batch)
#include "cn_index.cuh"

// One thread per column element: total = N*C*KH*KW*OH*OW. A pure gather, every element written.
// Aliasing: none.
CN_KERNEL cn_im2col(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) col, long long total, int C, int H, int W, int KH,
                    int KW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, long long sampleStride,
                    long long rowStride)
{
    const long long plane = (long long)OH * OW;
    const long long rows = (long long)C * KH * KW;
    CN_GRID_STRIDE(i, total)
    {
        long long p, r;
        const long long t = cn_divmod(i, plane, &p);
        const long long n = cn_divmod(t, rows, &r);
        const int ow = (int)p % OW, oh = (int)p / OW;
        const int kw = (int)r % KW, kh = ((int)r / KW) % KH, c = (int)r / (KW * KH);
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
// Aliasing: none.
CN_KERNEL cn_col2im(GPTR_UNIQUE(const float) col, GPTR_UNIQUE(float) x, long long total, int C, int H, int W, int KH,
                    int KW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW)
{
    const long long plane = (long long)OH * OW;
    CN_GRID_STRIDE(i, total)
    {
        long long hw, cc;
        const long long nc = cn_divmod(i, (long long)H * W, &hw);   // n*C + c
        const long long n = cn_divmod(nc, C, &cc);
        const int c = (int)cc, h = (int)hw / W, w = (int)hw % W;
        // Sample n's rows for channel c start at row c*KH*KW.
        const long long base = (n * C * KH * KW + (long long)c * KH * KW) * plane;
        float sum = 0.0f;
        for (int kh = 0; kh < KH; ++kh)
        {
            const int hs = h + PT - kh * DH;           // = oh*SH when this tap of output row oh reads (h, w)
            if (hs < 0 || hs % SH != 0) continue;
            const int oh = hs / SH;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw)
            {
                const int ws = w + PL - kw * DW;
                if (ws < 0 || ws % SW != 0) continue;
                const int ow = ws / SW;
                if (ow >= OW) continue;
                sum += col[base + (long long)(kh * KW + kw) * plane + (long long)oh * OW + ow];
            }
        }
        x[i] = sum;
    }
}

// y[b, a, i] = x[a, b, i]: swaps the two outer axes of x viewed as (A, B, inner); total = A*B*inner.
// Backward-weights uses it to lay dY (N, K, OH*OW) out as (K, N*OH*OW).
// Aliasing: none.
CN_KERNEL cn_swap_outer(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long total, int A, int B,
                        long long inner)
{
    CN_GRID_STRIDE(i, total)
    {
        long long e, a;
        const long long t = cn_divmod(i, inner, &e);   // = b*A + a in the output
        const long long b = cn_divmod(t, A, &a);
        y[i] = x[(a * B + b) * inner + e];
    }
}
