// pooling.cu: max and average pooling, forward and backward. Backward passes are gathers
// (Caffe pooling_layer.cu): each input element sums, in a fixed order, the windows that used it.
//
// Shapes: x (N, C, H, W), y and argmax (N, C, OH, OW). Window (oh, ow) covers rows
// [oh*SH - PH, oh*SH - PH + KH) and columns [ow*SW - PW, ow*SW - PW + KW), clipped to the input.
#include "cn_index.cuh"

// First output row whose window contains input row h (windows are KH tall, SH apart, shifted by PH).
CN_DEVICE int cn_first_window(int h, int pad, int k, int s) { return (h + pad < k) ? 0 : (h + pad - k) / s + 1; }
// One past the last output row whose window contains input row h.
CN_DEVICE int cn_end_window(int h, int pad, int s, int outSize)
{
    const int e = (h + pad) / s + 1;
    return e < outSize ? e : outSize;
}

// One thread per output element (total = N*C*OH*OW). argmax holds h*W + w of the maximum inside the
// (n, c) input plane; ties keep the first element in row-major window order. A NaN propagates as in PyTorch:
// the first NaN in the window wins and holds (v is taken when !(v <= best) and best is not already NaN).
// Aliasing: none.
CN_KERNEL cn_maxpool_fwd(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, GPTR_UNIQUE(int) argmax, long long total,
                         int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW)
{
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)OH * OW, &p);
        const int oh = (int)p / OW, ow = (int)p % OW;
        const int h0 = oh * SH - PH, w0 = ow * SW - PW;
        const int hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int he = h0 + KH < H ? h0 + KH : H, we = w0 + KW < W ? w0 + KW : W;
        auto plane = x + nc * H * W;
        int best = -1;
        float bestValue = 0.0f;
        for (int h = hs; h < he; ++h)
            for (int w = ws; w < we; ++w)
            {
                const float v = plane[h * W + w];
                if (best < 0 || (!(v <= bestValue) && bestValue == bestValue)) { bestValue = v; best = h * W + w; }
            }
        y[i] = bestValue;
        argmax[i] = best;
    }
}

// One thread per input element (total = N*C*H*W): sums dY of every window whose argmax chose it.
// Aliasing: none.
CN_KERNEL cn_maxpool_bwd(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const int) argmax, GPTR_UNIQUE(float) dx,
                         long long total, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                         int OW)
{
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)H * W, &p);
        const int h = (int)p / W, w = (int)p % W;
        const int self = h * W + w;
        const int ohs = cn_first_window(h, PH, KH, SH), ohe = cn_end_window(h, PH, SH, OH);
        const int ows = cn_first_window(w, PW, KW, SW), owe = cn_end_window(w, PW, SW, OW);
        const long long base = nc * OH * OW;
        float sum = 0.0f;
        for (int oh = ohs; oh < ohe; ++oh)
            for (int ow = ows; ow < owe; ++ow)
            {
                const long long o = base + (long long)oh * OW + ow;
                if (argmax[o] == self) sum += dy[o];
            }
        dx[i] = sum;
    }
}

// Divisor of window (oh, ow): its size clipped to the padded input when includePad, else the real elements in it.
CN_DEVICE int cn_avg_divisor(int oh, int ow, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int includePad)
{
    int h0 = oh * SH - PH, w0 = ow * SW - PW;
    int h1 = h0 + KH < H + PH ? h0 + KH : H + PH;
    int w1 = w0 + KW < W + PW ? w0 + KW : W + PW;
    if (includePad) return (h1 - h0) * (w1 - w0);
    h0 = h0 < 0 ? 0 : h0; w0 = w0 < 0 ? 0 : w0;
    h1 = h1 < H ? h1 : H; w1 = w1 < W ? w1 : W;
    return (h1 - h0) * (w1 - w0);
}

// One thread per output element (total = N*C*OH*OW).
// Aliasing: none.
CN_KERNEL cn_avgpool_fwd(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long total, int H, int W, int KH,
                         int KW, int SH, int SW, int PH, int PW, int OH, int OW, int includePad)
{
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)OH * OW, &p);
        const int oh = (int)p / OW, ow = (int)p % OW;
        const int h0 = oh * SH - PH, w0 = ow * SW - PW;
        const int hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
        const int he = h0 + KH < H ? h0 + KH : H, we = w0 + KW < W ? w0 + KW : W;
        auto plane = x + nc * H * W;
        float sum = 0.0f;
        for (int h = hs; h < he; ++h)
            for (int w = ws; w < we; ++w)
                sum += plane[h * W + w];
        const int d = cn_avg_divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW, includePad);
        y[i] = d > 0 ? sum / (float)d : 0.0f;
    }
}

// One thread per input element (total = N*C*H*W): sums dY/divisor over the windows containing it.
// Aliasing: none.
CN_KERNEL cn_avgpool_bwd(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(float) dx, long long total, int H, int W, int KH,
                         int KW, int SH, int SW, int PH, int PW, int OH, int OW, int includePad)
{
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)H * W, &p);
        const int h = (int)p / W, w = (int)p % W;
        const int ohs = cn_first_window(h, PH, KH, SH), ohe = cn_end_window(h, PH, SH, OH);
        const int ows = cn_first_window(w, PW, KW, SW), owe = cn_end_window(w, PW, SW, OW);
        const long long base = nc * OH * OW;
        float sum = 0.0f;
        for (int oh = ohs; oh < ohe; ++oh)
            for (int ow = ows; ow < owe; ++ow)
            {
                const int d = cn_avg_divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW, includePad);
                sum += dy[base + (long long)oh * OW + ow] / (float)d;
            }
        dx[i] = sum;
    }
}
