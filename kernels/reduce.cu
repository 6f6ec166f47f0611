// reduce.cu: deterministic sums. No atomics: each output is produced by exactly one thread
// (serial, fixed order) or one block (fixed-shape shared-memory tree, see cn_block_reduce.cuh).
#include "cn_block_reduce.cuh"
#include "cn_channel_walk.cuh"

// y[o, i] (+)= sum_r x[o, r, i], x viewed as (outer, reduce, inner). One thread per output, r in order:
// best when reduce is short (coalesced across i). outputs = outer*inner.
// Aliasing: none.
CN_KERNEL cn_reduce_sum_serial(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long outputs, int reduce,
                               long long inner, int accumulate)
{
    CN_GRID_STRIDE(j, outputs)
    {
        const long long i = j % inner, o = j / inner;
        auto p = x + o * reduce * inner + i;
        float sum = 0.0f;
        for (int r = 0; r < reduce; ++r) sum += p[(long long)r * inner];
        y[j] = accumulate ? y[j] + sum : sum;
    }
}

// The same sum with one block per output (grid-stride over outputs): thread t adds r = t, t + B, ...,
// then the block tree-reduces. For long reductions.
// Aliasing: none.
CN_KERNEL cn_reduce_sum_block(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long outputs, int reduce,
                              long long inner, int accumulate)
{
    __shared__ float buf[CN_MAX_BLOCK];
    for (long long j = blockIdx.x; j < outputs; j += gridDim.x)
    {
        const long long i = j % inner, o = j / inner;
        auto p = x + o * reduce * inner + i;
        float part = 0.0f;
        for (int r = threadIdx.x; r < reduce; r += blockDim.x) part += p[(long long)r * inner];
        float sum;
        CN_BLOCK_SUM(buf, part, sum);
        if (threadIdx.x == 0) y[j] = accumulate ? y[j] + sum : sum;
    }
}

// y[c] (+)= sum over n and i of x[n, c, i], x viewed as (N, C, inner): one block per channel
// (grid-stride over channels); thread t adds flat indices t, t + B, ... of the N*inner elements.
// Serves the bias gradient.
// Aliasing: none.
CN_KERNEL cn_channel_sum(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, int N, int C, long long inner,
                         int accumulate)
{
    __shared__ float buf[CN_MAX_BLOCK];
    for (int c = blockIdx.x; c < C; c += gridDim.x)
    {
        float part = 0.0f;
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x) part += x[at];
        float sum;
        CN_BLOCK_SUM(buf, part, sum);
        if (threadIdx.x == 0) y[c] = accumulate ? y[c] + sum : sum;
    }
}
