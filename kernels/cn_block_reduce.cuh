// cn_block_reduce.cuh: deterministic block-wide reductions for the kernels in this folder.
//
// Every thread of the block must reach the macro (it contains __syncthreads). `buf` is a static
// __shared__ float array of at least blockDim.x entries (CN_MAX_BLOCK). The tree has a fixed shape for
// a given blockDim.x: threads above the largest power of two p2 <= blockDim.x first fold into the
// lower half, then levels s = p2/2, p2/4, ..., 1 add buf[t + s] into buf[t], with a barrier between
// levels. So the same inputs and block size always give the same bits (no atomics, no warp shuffles).
// After the macro every thread holds the result in `out`, and `buf` may be reused.
#pragma once
#include "cn_runtime.cuh"
#include "cn_warp.cuh"

// Largest block size the launch helpers use; shared reduction buffers are sized by it.
#define CN_MAX_BLOCK 1024

#define CN_BLOCK_REDUCE_(buf, v, out, COMBINE)                                      \
    do {                                                                           \
        const unsigned t_ = threadIdx.x;                                           \
        buf[t_] = (v);                                                             \
        __syncthreads();                                                           \
        unsigned p2_ = 1;                                                          \
        while (p2_ * 2u <= blockDim.x) p2_ *= 2u;                                  \
        if (t_ >= p2_) buf[t_ - p2_] = COMBINE(buf[t_ - p2_], buf[t_]);            \
        __syncthreads();                                                           \
        for (unsigned s_ = p2_ / 2u; s_ > 0u; s_ >>= 1) {                          \
            if (t_ < s_) buf[t_] = COMBINE(buf[t_], buf[t_ + s_]);                 \
            __syncthreads();                                                       \
        }                                                                          \
        (out) = buf[0];                                                            \
        __syncthreads();                                                           \
    } while (0)

#define CN_ADD_(a, b) ((a) + (b))
#define CN_MAX_(a, b) cn_fmaxf((a), (b))

// out = sum over the block's threads of v.
#define CN_BLOCK_SUM(buf, v, out) CN_BLOCK_REDUCE_(buf, v, out, CN_ADD_)
// out = max over the block's threads of v.
#define CN_BLOCK_MAX(buf, v, out) CN_BLOCK_REDUCE_(buf, v, out, CN_MAX_)

// Warp reductions by butterfly shuffles (cn_warp.cuh): every lane of a FULL warp gets the same result, combined in the
// same fixed pairing (xor 16, 8, 4, 2, 1) on every run, so they are deterministic. Only whole warps may call them
// (kernels give rows to full warps only). The max and min propagate NaN and are commutative, so all lanes agree.
CN_DEVICE float cn_max_nan(float a, float b) { return (a != a || b != b) ? a + b : (a > b ? a : b); }
CN_DEVICE float cn_min_nan(float a, float b) { return (a != a || b != b) ? a + b : (a < b ? a : b); }

CN_DEVICE float cn_warp_max(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v = cn_max_nan(v, cn_shfl_xor_sync(CN_FULL_MASK, v, offset));
    return v;
}

CN_DEVICE float cn_warp_min(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v = cn_min_nan(v, cn_shfl_xor_sync(CN_FULL_MASK, v, offset));
    return v;
}
