// softmax_loss.cu: softmax over the last axis and the classification losses built on it.
// Matrices are (rows, classes) row-major. Row kernels give each row one block (grid-stride over rows)
// and use deterministic block reductions (cn_block_reduce.cuh) for the row max and sums.
#include "cn_block_reduce.cuh"
#include "cn_index.cuh"

// A quiet NaN (bit pattern 0x7fc00000): the loss of a row whose label is out of range. Built from its bits rather
// than 0.0f / 0.0f, which some compilers warn about as a constant division by zero.
CN_DEVICE float cn_qnan()
{
    union { unsigned int bits; float value; } nan = {0x7fc00000u};
    return nan.value;
}

// Writes softmax(x[row]) into p[row] and returns, in every thread, the row max and log(sum exp(x - max)), whose sum is
// logsumexp. They come separately so a caller can form log p_t = (x_t - max) - logSum, which keeps its relative accuracy
// when p_t is near 1 (a small loss); max + logSum would round at the magnitude of the logits first.
// buf is the block's shared reduction buffer. Every thread of the block must call it.
#define CN_ROW_SOFTMAX(buf, xr, pr, classes, maxOut, logSumOut)                            \
    do {                                                                                   \
        float m_ = -3.402823466e38f;                                                       \
        for (int j_ = threadIdx.x; j_ < (classes); j_ += blockDim.x) m_ = cn_fmaxf(m_, xr[j_]); \
        float max_;                                                                        \
        CN_BLOCK_MAX(buf, m_, max_);                                                       \
        float s_ = 0.0f;                                                                   \
        for (int j_ = threadIdx.x; j_ < (classes); j_ += blockDim.x)                       \
        {                                                                                  \
            const float e_ = cn_expf(xr[j_] - max_);                                       \
            pr[j_] = e_;                                                                   \
            s_ += e_;                                                                      \
        }                                                                                  \
        float sum_;                                                                        \
        CN_BLOCK_SUM(buf, s_, sum_);                                                       \
        const float inv_ = 1.0f / sum_;                                                    \
        for (int j_ = threadIdx.x; j_ < (classes); j_ += blockDim.x) pr[j_] *= inv_;       \
        (maxOut) = max_;                                                                   \
        (logSumOut) = cn_logf(sum_);                                                       \
    } while (0)

// y = softmax(x) per row: x, y (rows, classes).
// Aliasing: y may alias x (the row max is complete, behind a barrier, before any write; each thread then writes
// exp(x - max) over the very elements it reads).
CN_KERNEL cn_softmax_fwd(GPTR(const float) x, GPTR(float) y, int rows, int classes)
{
    __shared__ float buf[CN_MAX_BLOCK];
    for (int row = blockIdx.x; row < rows; row += gridDim.x)
    {
        auto xr = x + (long long)row * classes;
        auto yr = y + (long long)row * classes;
        float rowMax, logSum;
        CN_ROW_SOFTMAX(buf, xr, yr, classes, rowMax, logSum);
        (void)rowMax;
        (void)logSum;
    }
}

// dx = y * (dy - sum(dy * y)) per row: y, dy, dx (rows, classes).
// Aliasing: dx may alias y or dy (the dot product is complete, behind a barrier, before any write).
CN_KERNEL cn_softmax_bwd(GPTR(const float) y, GPTR(const float) dy, GPTR(float) dx, int rows, int classes)
{
    __shared__ float buf[CN_MAX_BLOCK];
    for (int row = blockIdx.x; row < rows; row += gridDim.x)
    {
        const long long base = (long long)row * classes;
        float part = 0.0f;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) part += dy[base + j] * y[base + j];
        float dot;
        CN_BLOCK_SUM(buf, part, dot);
        for (int j = threadIdx.x; j < classes; j += blockDim.x)
            dx[base + j] = y[base + j] * (dy[base + j] - dot);
    }
}

// Softmax cross-entropy (focal == 0) or focal loss (focal != 0), forward, one block per row:
// p = softmax(logits); with t = labels[row] and log p_t = (logits[t] - max) - log(sum exp(logits - max)),
//   cross-entropy: loss = -log p_t;   focal: loss = -(1 - p_t)^gamma * log p_t.
// A label outside [0, classes) gives a NaN loss. logits, p (rows, classes); labels, losses (rows).
// Aliasing: p may alias logits (thread 0 reads the label's logit before the row max's first barrier, and every write of
// p comes after it); labels and losses alias nothing.
CN_KERNEL cn_softmax_xent_fwd(GPTR(const float) logits, GPTR_UNIQUE(const int) labels, GPTR(float) p,
                              GPTR_UNIQUE(float) losses, int rows, int classes, int focal, float gamma)
{
    __shared__ float buf[CN_MAX_BLOCK];
    for (int row = blockIdx.x; row < rows; row += gridDim.x)
    {
        auto xr = logits + (long long)row * classes;
        auto pr = p + (long long)row * classes;
        // The label's logit, read by thread 0 before CN_ROW_SOFTMAX's first barrier: p may be logits itself, and the
        // softmax overwrites the row after that barrier. The previous row's reads ended at its own barriers.
        int t = 0;
        float logitT = 0.0f;
        if (threadIdx.x == 0)
        {
            t = labels[row];
            if (t >= 0 && t < classes) logitT = xr[t];
        }
        float rowMax, logSum;
        CN_ROW_SOFTMAX(buf, xr, pr, classes, rowMax, logSum);
        if (threadIdx.x == 0)
        {
            float loss;
            if (t < 0 || t >= classes)
                loss = cn_qnan();
            else
            {
                const float logPt = (logitT - rowMax) - logSum;
                loss = -logPt;
                if (focal)
                {
                    const float q = -cn_expm1f(logPt); // 1 - p_t without cancelling when p_t is near 1
                    loss *= cn_powf(q > 0.0f ? q : 0.0f, gamma);
                }
            }
            losses[row] = loss;
        }
    }
}

// gradLogits = scale * (p - onehot(label)): one thread per element (total = rows*classes).
// A label outside [0, classes) gives a NaN gradient row, like its NaN loss, so the bad row cannot train silently.
// Aliasing: grad may alias p (one thread per element, reading only its own element of p).
CN_KERNEL cn_softmax_xent_bwd(GPTR(const float) p, GPTR_UNIQUE(const int) labels, GPTR(float) grad, long long total,
                              int classes, float scale)
{
    CN_GRID_STRIDE(i, total)
    {
        long long j;
        const int t = labels[cn_divmod(i, classes, &j)];
        grad[i] = (t < 0 || t >= classes) ? cn_qnan() : scale * (p[i] - (j == t ? 1.0f : 0.0f));
    }
}

// Focal-loss gradient, one thread per element: with p_t the probability of the label,
// dL/dz_j = -c * (onehot_j - p_j) where c = (1 - p_t)^gamma - gamma * (1 - p_t)^(gamma - 1) * p_t * log p_t
// (the gamma term is 0 when gamma = 0, p_t = 1 or p_t = 0, its limits). Times scale.
// Aliasing: none (each thread reads p_t, an element of its row that another thread writes).
CN_KERNEL cn_focal_bwd(GPTR_UNIQUE(const float) p, GPTR_UNIQUE(const int) labels, GPTR_UNIQUE(float) grad,
                       long long total, int classes, float gamma, float scale)
{
    CN_GRID_STRIDE(i, total)
    {
        long long j;
        const long long row = cn_divmod(i, classes, &j);
        const int t = labels[row];
        if (t < 0 || t >= classes) { grad[i] = cn_qnan(); continue; }
        const float pt = p[row * classes + t];
        const float q = 1.0f - pt;
        float c = cn_powf(q > 0.0f ? q : 0.0f, gamma);
        if (gamma != 0.0f && q > 0.0f && pt > 0.0f)
            c -= gamma * cn_powf(q, gamma - 1.0f) * pt * cn_logf(pt);
        grad[i] = -scale * c * ((j == t ? 1.0f : 0.0f) - p[i]);
    }
}
