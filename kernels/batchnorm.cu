// batchnorm.cu: batch normalization over (N, spatial) per channel. x, y, dy, dx are (N, C, inner) with inner = H*W;
// per-channel vectors have C entries; M = N*inner elements per channel.
//
// Training passes are split reductions, so every channel is spread over many blocks (one block per channel left most
// of a large GPU idle): the channel's M elements are cut into `chunks` runs of chunkLen (the last may be shorter), one
// block per (channel, chunk) item (item = c*chunks + chunk, grid-stride over items). A first kernel writes one partial
// per item; a second combines the channel's partials in chunk order (a fixed order: deterministic), then processes its
// own chunk, and the chunk-0 block of each channel writes the per-channel outputs. Statistics are float64 throughout,
// as on the CPU backend, so a large mean or a tiny variance costs no precision; y and dx are narrowed once.
#include "cn_bits.cuh"
#include "cn_block_reduce.cuh"
#include "cn_channel_walk.cuh"
#include "cn_fastdiv.cuh"

// Elements of chunk q of a channel of M elements cut into runs of chunkLen.
CN_DEVICE long long cn_chunk_count(long long M, long long chunkLen, int q)
{
    const long long begin = (long long)q * chunkLen, end = begin + chunkLen < M ? begin + chunkLen : M;
    return end - begin;
}

// Forward partials: per item, the chunk's mean and M2 = sum((x - chunk mean)^2) (two passes over the chunk, which is
// in cache for the second), into partials[2*item], partials[2*item + 1].
// Aliasing: none.
CN_KERNEL cn_batchnorm_fwd_partials(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(double) partials, int N, int C, long long inner, int chunks,
                             long long chunkLen)
{
    __shared__ double buf[CN_MAX_BLOCK];
    const long long M = (long long)N * inner, items = (long long)C * chunks;
    for (long long item = blockIdx.x; item < items; item += gridDim.x)
    {
        const int c = (int)(item / chunks), chunk = (int)(item % chunks);
        const long long begin = (long long)chunk * chunkLen, count = cn_chunk_count(M, chunkLen, chunk), end = begin + count;
        double part = 0.0;
        CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin + threadIdx.x, end, blockDim.x) part += x[at];
        double sum;
        CN_BLOCK_SUM(buf, part, sum);
        const double mean = sum / (double)count;
        part = 0.0;
        CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin + threadIdx.x, end, blockDim.x)
        {
            const double d = (double)x[at] - mean;
            part += d * d;
        }
        double m2;
        CN_BLOCK_SUM(buf, part, m2);
        if (threadIdx.x == 0)
        {
            partials[2 * item] = mean;
            partials[2 * item + 1] = m2;
        }
    }
}

// Forward apply: combines channel c's (count, mean, M2) partials in chunk order (Chan, Golub and LeVeque's pairwise
// update), giving the batch mean and the biased variance M2 / M; invStd = 1/sqrt(var + eps). Writes
// y = (x - mean) * (gamma * invStd) + beta over the item's chunk, and in the chunk-0 block saves mean and invStd and
// moves the running statistics by momentum toward the mean and the unbiased variance M2 / (M - 1) (var when M = 1).
// Aliasing: y may alias x (each thread reads its element of x before writing the same element of y).
CN_KERNEL cn_batchnorm_fwd_apply(GPTR(const float) x, GPTR_UNIQUE(const float) gamma, GPTR_UNIQUE(const float) beta, GPTR(float) y,
                          GPTR_UNIQUE(const double) partials, GPTR_UNIQUE(float) saveMean, GPTR_UNIQUE(float) saveInvStd,
                          GPTR_UNIQUE(float) runningMean, GPTR_UNIQUE(float) runningVar, int N, int C, long long inner, int chunks,
                          long long chunkLen, float momentum, float epsilon)
{
    const long long M = (long long)N * inner, items = (long long)C * chunks;
    for (long long item = blockIdx.x; item < items; item += gridDim.x)
    {
        const int c = (int)(item / chunks), chunk = (int)(item % chunks);
        double n = 0.0, mean = 0.0, m2 = 0.0;
        for (int q = 0; q < chunks; ++q)
        {
            const double nb = (double)cn_chunk_count(M, chunkLen, q);
            const double meanB = partials[2 * ((long long)c * chunks + q)], m2B = partials[2 * ((long long)c * chunks + q) + 1];
            const double delta = meanB - mean, total = n + nb;
            mean += delta * (nb / total);
            m2 += m2B + delta * delta * (n * nb / total);
            n = total;
        }
        const double var = m2 / (double)M;
        const double invStd = 1.0 / cn_sqrt_f64(var + (double)epsilon);
        const double scale = (double)gamma[c] * invStd, shift = (double)beta[c];
        const long long begin = (long long)chunk * chunkLen, end = begin + cn_chunk_count(M, chunkLen, chunk);
        CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin + threadIdx.x, end, blockDim.x)
            y[at] = (float)(((double)x[at] - mean) * scale + shift);
        if (chunk == 0 && threadIdx.x == 0)
        {
            saveMean[c] = (float)mean;
            saveInvStd[c] = (float)invStd;
            const double unbiased = M > 1 ? m2 / (double)(M - 1) : var;
            runningMean[c] = (float)((double)momentum * mean + (1.0 - (double)momentum) * (double)runningMean[c]);
            runningVar[c] = (float)((double)momentum * unbiased + (1.0 - (double)momentum) * (double)runningVar[c]);
        }
    }
}

// Inference: y = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta, one thread per element (total = N*C*inner);
// the channel of element i is (i / inner) % C by two multiply-highs (cn_fastdiv.cuh).
// Aliasing: y may alias x.
CN_KERNEL cn_batchnorm_fwd_infer(GPTR(const float) x, GPTR_UNIQUE(const float) gamma, GPTR_UNIQUE(const float) beta,
                                 GPTR_UNIQUE(const float) runningMean, GPTR_UNIQUE(const float) runningVar, GPTR(float) y,
                                 long long total, int C, long long inner, unsigned long long innerMagic,
                                 unsigned long long cMagic, float epsilon)
{
    CN_GRID_STRIDE(i, total)
    {
        long long e, c;
        cn_fdivmod(cn_fdivmod(i, inner, innerMagic, &e), C, cMagic, &c);
        const float invStd = 1.0f / cn_sqrtf(runningVar[c] + epsilon);
        y[i] = (x[i] - runningMean[c]) * (gamma[c] * invStd) + beta[c];
    }
}

// Backward partials: per item, sum(dy) and sum(dy * (x - mean)) over the chunk (float64), into partials[2*item], [2*item+1].
// Aliasing: none.
CN_KERNEL cn_batchnorm_bwd_partials(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(const float) saveMean,
                             GPTR_UNIQUE(double) partials, int N, int C, long long inner, int chunks, long long chunkLen)
{
    __shared__ double buf[CN_MAX_BLOCK];
    const long long M = (long long)N * inner, items = (long long)C * chunks;
    for (long long item = blockIdx.x; item < items; item += gridDim.x)
    {
        const int c = (int)(item / chunks), chunk = (int)(item % chunks);
        const long long begin = (long long)chunk * chunkLen, end = begin + cn_chunk_count(M, chunkLen, chunk);
        const double mean = saveMean[c];
        double partDy = 0.0, partDyXm = 0.0;
        CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin + threadIdx.x, end, blockDim.x)
        {
            const double g = dy[at];
            partDy += g;
            partDyXm += g * ((double)x[at] - mean);
        }
        double sumDy, sumDyXm;
        CN_BLOCK_SUM(buf, partDy, sumDy);
        CN_BLOCK_SUM(buf, partDyXm, sumDyXm);
        if (threadIdx.x == 0)
        {
            partials[2 * item] = sumDy;
            partials[2 * item + 1] = sumDyXm;
        }
    }
}

// Backward apply, with xhat = (x - mean) * invStd: adds channel c's partials in chunk order, giving
// dbeta = sum dy and dgamma = sum dy * xhat, and writes over the item's chunk
//   dx = gamma * invStd * (dy - dbeta / M - xhat * dgamma / M) = kDy * dy + kX * (x - mean) + k0
// (the CPU backend's form). The chunk-0 block writes dgamma and dbeta (overwritten or accumulated). dx may alias dy:
// the partials kernel read every dy before this kernel writes any dx.
// Aliasing: dx may alias dy or x (each thread reads its elements of both before writing its element of dx).
CN_KERNEL cn_batchnorm_bwd_apply(GPTR(const float) x, GPTR(const float) dy, GPTR_UNIQUE(const float) gamma, GPTR_UNIQUE(const float) saveMean,
                          GPTR_UNIQUE(const float) saveInvStd, GPTR(float) dx, GPTR_UNIQUE(float) dgamma, GPTR_UNIQUE(float) dbeta,
                          GPTR_UNIQUE(const double) partials, int N, int C, long long inner, int chunks, long long chunkLen,
                          int accumulate)
{
    const long long M = (long long)N * inner, items = (long long)C * chunks;
    for (long long item = blockIdx.x; item < items; item += gridDim.x)
    {
        const int c = (int)(item / chunks), chunk = (int)(item % chunks);
        double sumDy = 0.0, sumDyXm = 0.0;
        for (int q = 0; q < chunks; ++q)
        {
            sumDy += partials[2 * ((long long)c * chunks + q)];
            sumDyXm += partials[2 * ((long long)c * chunks + q) + 1];
        }
        const double mean = saveMean[c], inv = saveInvStd[c];
        const double sumDyXhat = sumDyXm * inv, gi = (double)gamma[c] * inv;
        const double kDy = gi, kX = -gi * inv * sumDyXhat / (double)M, k0 = -gi * sumDy / (double)M;
        const long long begin = (long long)chunk * chunkLen, end = begin + cn_chunk_count(M, chunkLen, chunk);
        CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin + threadIdx.x, end, blockDim.x)
            dx[at] = (float)(kDy * (double)dy[at] + kX * ((double)x[at] - mean) + k0);
        if (chunk == 0 && threadIdx.x == 0)
        {
            dgamma[c] = accumulate ? (float)((double)dgamma[c] + sumDyXhat) : (float)sumDyXhat;
            dbeta[c] = accumulate ? (float)((double)dbeta[c] + sumDy) : (float)sumDy;
        }
    }
}
