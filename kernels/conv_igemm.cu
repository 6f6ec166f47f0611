// conv_igemm.cu: convolution as implicit GEMM (no column buffer): forward, backward-data and backward-weights, each as
//   _f32        FP32 SIMT, plain loads double-buffered through registers (every GPU, sm_70+);
//   _f32_async  FP32 SIMT, cp.async double buffering (sm_80+);
//   _tf32       TF32 tensor cores, mma.sync.m16n8k8 with FP32 accumulation, cp.async (sm_80+; only when TF32 is allowed).
// The GEMM of each pass, its operands' gathers and the main loops: cn_igemm_ops.cuh and cn_igemm.cuh.
//
// Launch: CN_IGEMM_THREADS (256) threads (launch bounds: two blocks per SM); grid.y = G * ceil(rows / 64), grid.x <= ceil(cols / 128) (a block walks
// column tiles blockIdx.x, blockIdx.x + gridDim.x, ...: any grid.x is correct); backward-weights grid.z = splits.
//   forward          rows K/G,  cols N*OH*OW
//   backward-data    rows C/G,  cols N*H*W
//   backward-weights rows K/G,  cols C/G*KH*KW, reduction N*OH*OW cut into `splits` ranges of `span` pixels
// Geometry arguments (every kernel): N, C, H, W, K, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, G.
// Aliasing: none (a convolution's inputs and outputs never share memory), so every pointer is GPTR_UNIQUE.
#include "cn_runtime.cuh"
#include "cn_igemm_ops.cuh"

#define CN_GEOMETRY_PARAMS int N, int C, int H, int W, int K, int KH, int KW, int SH, int SW, int PT, int PL, int DH, \
    int DW, int OH, int OW, int G
#define CN_GEOMETRY_ARGS N, C, H, W, K, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, G

#define CN_FWD_BODY(BK, MAINLOOP)                                                                              \
    __shared__ float As[2][BK][CN_IGEMM_SA];                                                                   \
    __shared__ float Bs[2][BK][CN_IGEMM_SB];                                                                   \
    const cn_conv g = cn_make_conv(CN_GEOMETRY_ARGS);                                                          \
    const int row_tiles = (g.KG + CN_IGEMM_BM - 1) / CN_IGEMM_BM;                                              \
    const int group = blockIdx.y / row_tiles, row0 = (blockIdx.y % row_tiles) * CN_IGEMM_BM;                   \
    const int col_tiles = (g.N * g.OHOW + CN_IGEMM_BN - 1) / CN_IGEMM_BN, ksteps = (g.RG + BK - 1) / BK;       \
    for (int tile = blockIdx.x; tile < col_tiles; tile += gridDim.x)                                           \
    {                                                                                                          \
        cn_fwd_op<BK> op(g, x, w, bias, y, act, alpha, group, row0, tile * CN_IGEMM_BN);                       \
        MAINLOOP;                                                                                              \
    }

#define CN_DGRAD_BODY(BK, MAINLOOP)                                                                            \
    __shared__ float As[2][BK][CN_IGEMM_SA];                                                                   \
    __shared__ float Bs[2][BK][CN_IGEMM_SB];                                                                   \
    const cn_conv g = cn_make_conv(CN_GEOMETRY_ARGS);                                                          \
    const int row_tiles = (g.CG + CN_IGEMM_BM - 1) / CN_IGEMM_BM;                                              \
    const int group = blockIdx.y / row_tiles, row0 = (blockIdx.y % row_tiles) * CN_IGEMM_BM;                   \
    const int col_tiles = (g.N * g.HW + CN_IGEMM_BN - 1) / CN_IGEMM_BN, ksteps = (g.KG * g.KHKW + BK - 1) / BK; \
    for (int tile = blockIdx.x; tile < col_tiles; tile += gridDim.x)                                           \
    {                                                                                                          \
        cn_dgrad_op<BK> op(g, dy, w, dx, group, row0, tile * CN_IGEMM_BN);                                     \
        MAINLOOP;                                                                                              \
    }

#define CN_WGRAD_BODY(BK, MAINLOOP)                                                                            \
    __shared__ float As[2][BK][CN_IGEMM_SA];                                                                   \
    __shared__ float Bs[2][BK][CN_IGEMM_SB];                                                                   \
    const cn_conv g = cn_make_conv(CN_GEOMETRY_ARGS);                                                          \
    const int row_tiles = (g.KG + CN_IGEMM_BM - 1) / CN_IGEMM_BM;                                              \
    const int group = blockIdx.y / row_tiles, row0 = (blockIdx.y % row_tiles) * CN_IGEMM_BM;                   \
    const int col_tiles = (g.RG + CN_IGEMM_BN - 1) / CN_IGEMM_BN;                                              \
    const int pixels = g.N * g.OHOW, p_begin = (int)blockIdx.z * span;                                         \
    const int p_end = p_begin + span < pixels ? p_begin + span : pixels;                                       \
    const int ksteps = (p_end - p_begin + BK - 1) / BK;                                                        \
    for (int tile = blockIdx.x; tile < col_tiles; tile += gridDim.x)                                           \
    {                                                                                                          \
        cn_wgrad_op<BK> op(g, x, dy, out, group, row0, tile * CN_IGEMM_BN, p_begin, p_end, splits, accumulate); \
        MAINLOOP;                                                                                              \
    }

// ------------------------------------------------------------------------------------------------- forward
// y (N, K, OH, OW) = act(conv(x, w) + bias): bias may be null; act -1 = none, else ActivationKind with alpha.
// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_fwd_f32(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(const float) bias, GPTR_UNIQUE(float) y,
                           CN_GEOMETRY_PARAMS, int act, float alpha)
{
    CN_FWD_BODY(8, (cn_igemm_simt<cn_fwd_op<8>, false>(op, ksteps, As, Bs)))
}

// ------------------------------------------------------------------------------------------------- backward-data
// dx (N, C, H, W) = the gradient of the forward's input for dy (N, K, OH, OW); overwrites dx.
// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_dgrad_f32(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(float) dx, CN_GEOMETRY_PARAMS)
{
    CN_DGRAD_BODY(8, (cn_igemm_simt<cn_dgrad_op<8>, false>(op, ksteps, As, Bs)))
}

// ------------------------------------------------------------------------------------------------- backward-weights
// splits == 1: out = dw (K, C/G, KH, KW), overwritten or (accumulate != 0) added to. splits > 1: out = partial
// (splits, K, C/G*KH*KW), each split's sum over its pixel range; cn_igemm_wgrad_reduce then adds them in split order.
// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_wgrad_f32(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) dy,
    GPTR_UNIQUE(float) out, CN_GEOMETRY_PARAMS, int span,
                             int splits, int accumulate)
{
    CN_WGRAD_BODY(8, (cn_igemm_simt<cn_wgrad_op<8>, false>(op, ksteps, As, Bs)))
}

// dw[i] = (accumulate ? dw[i] : 0) + partial[0][i] + partial[1][i] + ... + partial[splits-1][i], in that order.
// Aliasing: none.
CN_KERNEL cn_igemm_wgrad_reduce(GPTR_UNIQUE(const float) partial, GPTR_UNIQUE(float) dw, long long n, int splits, int accumulate)
{
    CN_GRID_STRIDE(i, n)
    {
        float s = accumulate ? dw[i] : 0.0f;
        for (int k = 0; k < splits; k++) s += partial[(long long)k * n + i];
        dw[i] = s;
    }
}

#if CN_SM80
// ------------------------------------------------------------------------------------------------- sm_80: cp.async
// The same three passes with cp.async double buffering. Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_fwd_f32_async(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(const float) bias, GPTR_UNIQUE(float) y,
                                 CN_GEOMETRY_PARAMS, int act, float alpha)
{
    CN_FWD_BODY(8, (cn_igemm_simt<cn_fwd_op<8>, true>(op, ksteps, As, Bs)))
}

// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_dgrad_f32_async(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(float) dx, CN_GEOMETRY_PARAMS)
{
    CN_DGRAD_BODY(8, (cn_igemm_simt<cn_dgrad_op<8>, true>(op, ksteps, As, Bs)))
}

// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_wgrad_f32_async(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) dy,
    GPTR_UNIQUE(float) out, CN_GEOMETRY_PARAMS,
                                   int span, int splits, int accumulate)
{
    CN_WGRAD_BODY(8, (cn_igemm_simt<cn_wgrad_op<8>, true>(op, ksteps, As, Bs)))
}

// ------------------------------------------------------------------------------------------------- sm_80: TF32
// The same three passes on the tensor cores (mma.sync m16n8k8, TF32 inputs, FP32 accumulation). Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_fwd_tf32(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(const float) bias, GPTR_UNIQUE(float) y,
                            CN_GEOMETRY_PARAMS, int act, float alpha)
{
    CN_FWD_BODY(16, (cn_igemm_tf32<cn_fwd_op<16>>(op, ksteps, As, Bs)))
}

// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_dgrad_tf32(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) w,
    GPTR_UNIQUE(float) dx, CN_GEOMETRY_PARAMS)
{
    CN_DGRAD_BODY(16, (cn_igemm_tf32<cn_dgrad_op<16>>(op, ksteps, As, Bs)))
}

// Aliasing: none.
CN_KERNEL CN_LAUNCH_BOUNDS(CN_IGEMM_THREADS, 2) cn_igemm_wgrad_tf32(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) dy,
    GPTR_UNIQUE(float) out, CN_GEOMETRY_PARAMS, int span,
                              int splits, int accumulate)
{
    CN_WGRAD_BODY(16, (cn_igemm_tf32<cn_wgrad_op<16>>(op, ksteps, As, Bs)))
}
#endif
