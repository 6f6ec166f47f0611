// conv_depthwise.cu: direct depthwise convolution (groups == C; each input channel c feeds the M = K/C output channels
// k = c*M .. c*M + M - 1, the depth multiplier). Tensors: x (N, C, H, W), w (K, 1, KH, KW), y (N, K, OH, OW).
// Geometry arguments: N, C, H, W, K, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW (G = C implied).
//   forward           one thread per output element, grid-stride; taps summed in (kh, kw) order; bias and activation
//                     fused (bias may be null; act -1 = none, else ActivationKind with alpha: cn_activation.cuh)
//   backward-data     one thread per input element (a gather: no atomics); contributions summed in (m, kh, kw) order,
//                     a tap counting only where (ih + PT - kh*DH) is a multiple of SH landing in [0, OH) (and W alike)
//   backward-weights  one block per filter tap (k, kh, kw), grid-stride over taps; the block's threads stride over the
//                     N*OH*OW pixels in a fixed pattern, then a fixed-shape warp-shuffle reduction (cn_warp.cuh) sums
//                     them: deterministic. blockDim.x must be a multiple of 32 (the backend launches 256).
// Aliasing: none (a convolution's inputs and outputs never share memory), so every pointer is GPTR_UNIQUE.
#include "cn_runtime.cuh"
#include "cn_activation.cuh"
#include "cn_index.cuh"
#include "cn_warp.cuh"

#define CN_DW_PARAMS int N, int C, int H, int W, int K, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW, \
    int OH, int OW

// y (N, K, OH, OW) = act(depthwise conv(x, w) + bias); total = N*K*OH*OW.
// Aliasing: none.
CN_KERNEL cn_dw_fwd(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) w, GPTR_UNIQUE(const float) bias, GPTR_UNIQUE(float) y, long long total,
                    CN_DW_PARAMS, int act, float alpha)
{
    (void)N;
    const int M = K / C;
    CN_GRID_STRIDE(i, total)
    {
        long long ow, oh, k;
        long long t = cn_divmod(i, OW, &ow);
        t = cn_divmod(t, OH, &oh);
        const long long n = cn_divmod(t, K, &k);
        const auto img = x + (n * C + k / M) * (long long)H * W;
        const auto filt = w + k * KH * KW;
        float s = 0.0f;
        for (int kh = 0; kh < KH; kh++)
        {
            const int ih = (int)oh * SH - PT + kh * DH;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++)
            {
                const int iw = (int)ow * SW - PL + kw * DW;
                if (iw < 0 || iw >= W) continue;
                s += img[ih * W + iw] * filt[kh * KW + kw];
            }
        }
        if (bias) s += bias[k];
        y[i] = cn_epilogue_act(act, alpha, s);
    }
}

// dx (N, C, H, W) = the gradient of the forward's input for dy; total = N*C*H*W; overwrites dx.
// Aliasing: none.
CN_KERNEL cn_dw_dgrad(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) w, GPTR_UNIQUE(float) dx, long long total, CN_DW_PARAMS)
{
    (void)N;
    const int M = K / C;
    CN_GRID_STRIDE(i, total)
    {
        long long iw, ih, c;
        long long t = cn_divmod(i, W, &iw);
        t = cn_divmod(t, H, &ih);
        const long long n = cn_divmod(t, C, &c);
        float s = 0.0f;
        for (int m = 0; m < M; m++)
        {
            const long long k = c * M + m;
            const auto plane = dy + (n * K + k) * (long long)OH * OW;
            const auto filt = w + k * KH * KW;
            for (int kh = 0; kh < KH; kh++)
            {
                const int th = (int)ih + PT - kh * DH;
                if (th < 0 || th % SH != 0 || th / SH >= OH) continue;
                const int oh = th / SH;
                for (int kw = 0; kw < KW; kw++)
                {
                    const int tw = (int)iw + PL - kw * DW;
                    if (tw < 0 || tw % SW != 0 || tw / SW >= OW) continue;
                    s += plane[oh * OW + tw / SW] * filt[kh * KW + kw];
                }
            }
        }
        dx[i] = s;
    }
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024) with a fixed shape: every warp's butterfly total
// (cn_warp_sum), written to partial[warp], then every warp sums the totals the same way. All threads get the result;
// `partial` (32 floats of shared memory) is reusable when it returns.
CN_DEVICE float cn_block_sum_warps(float v, float* partial)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = cn_warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = cn_warp_sum(lane < warps ? partial[lane] : 0.0f);
    __syncthreads();
    return total;
}

// dw (K, 1, KH, KW) (+)= the gradient of the forward's weights: dw[k][kh][kw] = sum over n, oh, ow of
// dy[n][k][oh][ow] * x[n][k/M][oh*SH - PT + kh*DH][ow*SW - PL + kw*DW].
// Aliasing: none.
CN_KERNEL cn_dw_wgrad(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(float) dw, CN_DW_PARAMS, int accumulate)
{
    __shared__ float partial[32];
    const int M = K / C, OHOW = OH * OW;
    const long long taps = (long long)K * KH * KW, pixels = (long long)N * OHOW;
    for (long long item = blockIdx.x; item < taps; item += gridDim.x)
    {
        long long kw, kh;
        long long k = cn_divmod(cn_divmod(item, KW, &kw), KH, &kh);
        const long long c = k / M;
        float s = 0.0f;
        for (long long p = threadIdx.x; p < pixels; p += blockDim.x)
        {
            long long pix;
            const long long n = cn_divmod(p, OHOW, &pix);
            const int oh = (int)pix / OW, ow = (int)pix - oh * OW;
            const int ih = oh * SH - PT + (int)kh * DH, iw = ow * SW - PL + (int)kw * DW;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            s += dy[(n * K + k) * OHOW + pix] * x[(n * C + c) * (long long)H * W + ih * W + iw];
        }
        const float total = cn_block_sum_warps(s, partial);
        if (threadIdx.x == 0) dw[item] = accumulate ? dw[item] + total : total;
    }
}
