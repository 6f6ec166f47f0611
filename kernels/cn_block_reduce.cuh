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

// Group reductions: the block is cut into groups of G = min(32, blockDim.x) consecutive threads (a warp on the GPU) and
// every group reduces its own values at once, through the shared buffer, with a fixed tree: lane l combines lane l + s
// for s = 16, 8, 4, 2, 1 when that lane is in its group (so any G <= 32 works, and a partial last group never reads
// past blockDim). Every thread of the block must reach it (it has block barriers), so loops around it must be uniform
// over the block. After it, `out` holds the group's result in every thread of the group, and `buf` may be reused.
#define CN_GROUP_SIZE() (blockDim.x < 32u ? blockDim.x : 32u)

#define CN_GROUP_REDUCE_(buf, v, out, COMBINE)                                                     \
    do {                                                                                         \
        const unsigned t_ = threadIdx.x, g_ = CN_GROUP_SIZE(), lane_ = t_ % g_, first_ = t_ - lane_; \
        buf[t_] = (v);                                                                           \
        __syncthreads();                                                                         \
        for (unsigned s_ = 16u; s_ > 0u; s_ >>= 1)                                               \
        {                                                                                        \
            if (lane_ < s_ && lane_ + s_ < g_ && t_ + s_ < blockDim.x)                           \
                buf[t_] = COMBINE(buf[t_], buf[t_ + s_]);                                        \
            __syncthreads();                                                                     \
        }                                                                                        \
        (out) = buf[first_];                                                                     \
        __syncthreads();                                                                         \
    } while (0)

#define CN_MIN_(a, b) cn_fminf((a), (b))

// out = sum / max / min over the thread's group of v.
#define CN_GROUP_SUM(buf, v, out) CN_GROUP_REDUCE_(buf, v, out, CN_ADD_)
#define CN_GROUP_MAX(buf, v, out) CN_GROUP_REDUCE_(buf, v, out, CN_MAX_)
#define CN_GROUP_MIN(buf, v, out) CN_GROUP_REDUCE_(buf, v, out, CN_MIN_)
