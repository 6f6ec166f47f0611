// batchnorm.cu: batch normalization over (N, spatial) per channel. x, y, dy, dx are (N, C, inner)
// with inner = H*W; per-channel vectors have C entries. Training kernels give each channel one block
// (grid-stride over channels) and reduce with the deterministic block tree of cn_block_reduce.cuh.
#include "cn_block_reduce.cuh"
#include "cn_channel_walk.cuh"
#include "cn_index.cuh"

// Training forward. Two passes over the channel for numerical safety: mean, then the biased variance
// sum((x - mean)^2) / M with M = N*inner. Saves mean and invStd = 1/sqrt(var + eps), writes
// y = gamma * (x - mean) * invStd + beta, and moves the running statistics by momentum toward the batch
// mean and the unbiased variance var * M / (M - 1) (var itself when M = 1).
// Aliasing: y may alias x (both sums end with a barrier before the first write of y, and each thread then rewrites only
// the elements it reads); the per-channel vectors alias nothing.
CN_KERNEL cn_batchnorm_fwd_train(GPTR(const float) x, GPTR_UNIQUE(const float) gamma, GPTR_UNIQUE(const float) beta,
                                 GPTR(float) y, GPTR_UNIQUE(float) saveMean, GPTR_UNIQUE(float) saveInvStd,
                                 GPTR_UNIQUE(float) runningMean, GPTR_UNIQUE(float) runningVar, int N, int C,
                                 long long inner, float momentum, float epsilon)
{
    __shared__ float buf[CN_MAX_BLOCK];
    const long long count = (long long)N * inner;
    for (int c = blockIdx.x; c < C; c += gridDim.x)
    {
        float part = 0.0f;
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x) part += x[at];
        float sum;
        CN_BLOCK_SUM(buf, part, sum);
        const float mean = sum / (float)count;

        part = 0.0f;
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x)
        {
            const float d = x[at] - mean;
            part += d * d;
        }
        float sq;
        CN_BLOCK_SUM(buf, part, sq);
        const float var = sq / (float)count;
        const float invStd = 1.0f / cn_sqrtf(var + epsilon);

        const float g = gamma[c] * invStd, b = beta[c];
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x) y[at] = (x[at] - mean) * g + b;
        if (threadIdx.x == 0)
        {
            saveMean[c] = mean;
            saveInvStd[c] = invStd;
            const float unbiased = count > 1 ? var * ((float)count / (float)(count - 1)) : var;
            runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * mean;
            runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * unbiased;
        }
    }
}

// Inference: y = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta, one thread per element (total = N*C*inner).
// Aliasing: y may alias x.
CN_KERNEL cn_batchnorm_fwd_infer(GPTR(const float) x, GPTR_UNIQUE(const float) gamma, GPTR_UNIQUE(const float) beta,
                                 GPTR_UNIQUE(const float) runningMean, GPTR_UNIQUE(const float) runningVar,
                                 GPTR(float) y, long long total, int C, long long inner, float epsilon)
{
    CN_GRID_STRIDE(i, total)
    {
        const long long c = cn_channel_of(i, inner, C);
        const float invStd = 1.0f / cn_sqrtf(runningVar[c] + epsilon);
        y[i] = (x[i] - runningMean[c]) * (gamma[c] * invStd) + beta[c];
    }
}

// Backward, one block per channel, with xhat = (x - mean) * invStd and M = N*inner:
//   dbeta = sum dy, dgamma = sum dy * xhat (overwritten or accumulated),
//   dx = gamma * invStd / M * (M * dy - dbeta_batch - xhat * dgamma_batch).
// Aliasing: dx may alias dy or x (every read for the sums happens before the barrier that precedes the block's first dx
// write, and the dx pass reads only the elements each thread writes); the per-channel vectors alias nothing.
CN_KERNEL cn_batchnorm_bwd(GPTR(const float) x, GPTR(const float) dy, GPTR_UNIQUE(const float) gamma,
                           GPTR_UNIQUE(const float) saveMean, GPTR_UNIQUE(const float) saveInvStd, GPTR(float) dx,
                           GPTR_UNIQUE(float) dgamma, GPTR_UNIQUE(float) dbeta, int N, int C, long long inner,
                           int accumulate)
{
    __shared__ float buf[CN_MAX_BLOCK];
    const long long count = (long long)N * inner;
    for (int c = blockIdx.x; c < C; c += gridDim.x)
    {
        const float mean = saveMean[c], invStd = saveInvStd[c];
        float partDy = 0.0f, partDyXhat = 0.0f;
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x)
        {
            const float g = dy[at];
            partDy += g;
            partDyXhat += g * (x[at] - mean) * invStd;
        }
        float sumDy, sumDyXhat;
        CN_BLOCK_SUM(buf, partDy, sumDy);
        CN_BLOCK_SUM(buf, partDyXhat, sumDyXhat);

        const float k = gamma[c] * invStd / (float)count;
        CN_FOR_CHANNEL(at, c, N, C, inner, threadIdx.x, blockDim.x)
        {
            const float xhat = (x[at] - mean) * invStd;
            dx[at] = k * ((float)count * dy[at] - sumDy - xhat * sumDyXhat);
        }
        if (threadIdx.x == 0)
        {
            dbeta[c] = accumulate ? dbeta[c] + sumDy : sumDy;
            dgamma[c] = accumulate ? dgamma[c] + sumDyXhat : sumDyXhat;
        }
    }
}
