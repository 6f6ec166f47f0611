// epilogue.cu: bias and activation fused around the GEMMs of convolution and dense layers.
//
// Forward epilogue: y = act(y + bias[channel]) in place, once, right after the GEMM wrote y (conv: y (N, K, OH*OW),
// channel k; dense: y (N, units), channel = unit). One pass instead of a bias pass plus an activation pass; the float
// operations are those of cn_bias_add followed by cn_activation_fwd, so fused and unfused layers give the same bits.
//
// Backward prologues, reading dL/dy and y once, where both are in cache:
//   dz = dL/d(pre-activation) = act'(from y) * dL/dy   (cn_act_grad_from_output)
//   dbias[k] = sum of dz over the batch and positions (a fixed-order reduction: deterministic)
// The convolution prologue also writes dz transposed to (K, N*OH*OW), the layout both convolution-backward GEMMs read,
// so the separate transpose (cn_swap_outer) is not needed. The dense prologue writes dz in place of dy's layout.
#include "cn_activation.cuh"
#include "cn_block_reduce.cuh"
#include "cn_channel_walk.cuh"
#include "cn_fastdiv.cuh"

// y[n, c, i] = act(y[n, c, i] + (bias ? bias[c] : 0)): y viewed as (N, C, inner), total = N*C*inner.
// i -> (nc, e) by inner, nc -> (n, c) by C, each a multiply-high (cn_fastdiv.cuh).
// Aliasing: none (y is updated in place, each element by the thread that reads it).
CN_KERNEL cn_bias_act_fwd(GPTR_UNIQUE(float) y, GPTR_UNIQUE(const float) bias, long long total, int C, long long inner,
                          unsigned long long innerMagic, unsigned long long cMagic, int kind, float alpha)
{
    CN_GRID_STRIDE(i, total)
    {
        float v = y[i];
        if (bias)
        {
            long long e, c;
            cn_fdivmod(cn_fdivmod(i, inner, innerMagic, &e), C, cMagic, &c);
            v += bias[c];
        }
        y[i] = cn_act(kind, alpha, v);
    }
}

// Convolution backward prologue, one block per output channel k (grid-stride over channels). The block walks the
// channel's N*P elements j = n*P + p in order (thread t takes j = t, t + B, ...; cn_channel_walk.cuh), computes
// dz = act'(y) * dy[n, k, p], writes it (when dz is not null) transposed to dz[k, j] (contiguous per block; the layout of
// the im2col path's backward GEMMs) or, with natural != 0, in dy's own layout dz[n, k, p] (for the other convolution
// algorithms), and reduces its partial sums with the fixed block tree into dbias[k] (overwritten, or added to when
// accumulate; skipped when dbias is null). y is not read for CN_ACT_NONE.
// Aliasing: none.
CN_KERNEL cn_conv_bwd_prologue(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) y, GPTR_UNIQUE(float) dz, GPTR_UNIQUE(float) dbias,
                               int N, int K, long long P, int kind, float alpha, int accumulate, int natural)
{
    __shared__ float buf[CN_MAX_BLOCK];
    const long long span = (long long)N * P;
    for (int k = blockIdx.x; k < K; k += gridDim.x)
    {
        const long long row = (long long)k * span; // dz[k, 0] when transposed
        float part = 0.0f;
        long long j = threadIdx.x;
        CN_FOR_CHANNEL(at, k, N, K, P, threadIdx.x, blockDim.x)
        {
            const float g = dy[at];
            const float d = kind == CN_ACT_NONE ? g : cn_act_grad_from_output(kind, alpha, y[at], g);
            if (dz) dz[natural ? at : row + j] = d;
            part += d;
            j += blockDim.x;
        }
        if (dbias)
        {
            float sum;
            CN_BLOCK_SUM(buf, part, sum);
            if (threadIdx.x == 0) dbias[k] = accumulate ? dbias[k] + sum : sum;
        }
    }
}

// Dense backward prologue, one thread per unit u (grid-stride over units): for n = 0, 1, ... in order,
// dz[n, u] = act'(y[n, u]) * dy[n, u] (written when dz is not null) and dbias[u] (+)= the sum of those dz (when dbias is
// not null). Threads of a warp take neighbouring units, so every row access is coalesced.
// Aliasing: dz may alias dy (each element is read by the thread that then writes it).
CN_KERNEL cn_dense_bwd_prologue(GPTR(const float) dy, GPTR_UNIQUE(const float) y, GPTR(float) dz, GPTR_UNIQUE(float) dbias,
                                int N, int U, int kind, float alpha, int accumulate)
{
    CN_GRID_STRIDE(u, U)
    {
        float sum = 0.0f;
        for (int n = 0; n < N; ++n)
        {
            const long long at = (long long)n * U + u;
            const float g = dy[at];
            const float d = kind == CN_ACT_NONE ? g : cn_act_grad_from_output(kind, alpha, y[at], g);
            if (dz) dz[at] = d;
            sum += d;
        }
        if (dbias) dbias[u] = accumulate ? dbias[u] + sum : sum;
    }
}
