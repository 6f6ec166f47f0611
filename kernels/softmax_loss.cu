// softmax_loss.cu: softmax over the last axis and the classification losses built on it.
// Matrices are (rows, classes) row-major. Two row mappings, both with deterministic fixed-order reductions
// (cn_block_reduce.cuh):
//   *_rows kernels: one warp per row (butterfly shuffles, no block barriers), blockDim/32 rows per block at once,
//     grid-stride over rows: for the usual 10-1,000 classes a 256-thread block per row left most of its threads idle.
//     Only full warps take rows (the host launches them with blockDim >= 32);
//   the block kernels: one block per row, for rows longer than CudaBackend's group limit.
// cn_classify_step fuses a training (or evaluation) batch: softmax, losses, the gradient, the predicted classes and the
// device-side metrics of cn_step_state.cuh, in one single-block launch.
#include "cn_bits.cuh"
#include "cn_block_reduce.cuh"
#include "cn_index.cuh"
#include "cn_step_state.cuh"

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

// ------------------------------------------------------------------------------------------- one warp per row

// Each kernel below loops over rounds of rows uniformly over the block: in the round starting at `base`, full warp g
// takes row base + g (active when that row exists); lanes stride over the row. A last, incomplete warp (blockDim not a
// multiple of 32) takes no rows and calls no collective.

// Writes softmax(xr) into pr (lanes stride over the row) and sets, in every lane of the warp, the row max and
// log(sum exp(x - max)) separately (as CN_ROW_SOFTMAX does, so log p_t = (x_t - max) - logSum keeps its relative accuracy
// when p_t is near 1). Inactive lanes take part in the shuffles with neutral values.
#define CN_WARP_ROW_SOFTMAX(xr, pr, classes, lane, active, maxOut, logSumOut)                          \
    do {                                                                                           \
        float m_ = -3.402823466e38f;                                                               \
        if (active) for (int j_ = (lane); j_ < (classes); j_ += 32) m_ = cn_max_nan(m_, xr[j_]);    \
        const float max_ = cn_warp_max(m_);                                                        \
        float s_ = 0.0f;                                                                           \
        if (active)                                                                                \
            for (int j_ = (lane); j_ < (classes); j_ += 32)                                        \
            {                                                                                      \
                const float e_ = cn_expf(xr[j_] - max_);                                           \
                pr[j_] = e_;                                                                       \
                s_ += e_;                                                                          \
            }                                                                                      \
        const float sum_ = cn_warp_sum(s_);                                                        \
        const float inv_ = 1.0f / sum_;                                                            \
        if (active) for (int j_ = (lane); j_ < (classes); j_ += 32) pr[j_] *= inv_;                \
        (maxOut) = max_;                                                                           \
        (logSumOut) = cn_logf(sum_);                                                               \
    } while (0)

// y = softmax(x) per row: x, y (rows, classes).
// Aliasing: y may alias x (each lane reads its elements of x for the max before the warp's collective, then reads and
// writes only its own elements).
CN_KERNEL cn_softmax_fwd_rows(GPTR(const float) x, GPTR(float) y, int rows, int classes)
{
    const int warps = (int)blockDim.x / 32, warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
    for (long long base = (long long)blockIdx.x * warps; base < rows; base += (long long)gridDim.x * warps)
    {
        if (warp >= warps) continue;
        const long long row = base + warp;
        const bool active = row < rows;
        auto xr = x + (active ? row : 0) * classes;
        auto yr = y + (active ? row : 0) * classes;
        float rowMax, logSum;
        CN_WARP_ROW_SOFTMAX(xr, yr, classes, lane, active, rowMax, logSum);
        (void)rowMax;
        (void)logSum;
    }
}

// dx = y * (dy - sum(dy * y)) per row: y, dy, dx (rows, classes).
// Aliasing: dx may alias y or dy (the dot product is complete, after the warp's collective, before any write; each lane
// then reads and writes only its own elements).
CN_KERNEL cn_softmax_bwd_rows(GPTR(const float) y, GPTR(const float) dy, GPTR(float) dx, int rows, int classes)
{
    const int warps = (int)blockDim.x / 32, warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
    for (long long base = (long long)blockIdx.x * warps; base < rows; base += (long long)gridDim.x * warps)
    {
        if (warp >= warps) continue;
        const long long row = base + warp;
        const bool active = row < rows;
        const long long at = (active ? row : 0) * classes;
        float part = 0.0f;
        if (active) for (int j = lane; j < classes; j += 32) part += dy[at + j] * y[at + j];
        const float dot = cn_warp_sum(part);
        if (active) for (int j = lane; j < classes; j += 32) dx[at + j] = y[at + j] * (dy[at + j] - dot);
    }
}

// Loss of one row from its log-probability of the label (cross-entropy, or focal when focal != 0); NaN for a bad label.
// The arithmetic of cn_softmax_xent_fwd: 1 - p_t as -expm1(log p_t), without cancelling when p_t is near 1.
CN_DEVICE float cn_row_loss(float logPt, bool validLabel, int focal, float gamma)
{
    if (!validLabel) return cn_qnan();
    float loss = -logPt;
    if (focal)
    {
        const float q = -cn_expm1f(logPt);
        loss *= cn_powf(q > 0.0f ? q : 0.0f, gamma);
    }
    return loss;
}

// Softmax cross-entropy / focal forward with one warp per row: p = softmax(logits), losses[row] as cn_softmax_xent_fwd.
// Aliasing: p may alias logits (lane 0 reads the label's logit before the warp's first collective; every other element is
// read and rewritten by one lane).
CN_KERNEL cn_softmax_xent_fwd_rows(GPTR(const float) logits, GPTR_UNIQUE(const int) labels, GPTR(float) p, GPTR_UNIQUE(float) losses,
                                   int rows, int classes, int focal, float gamma)
{
    const int warps = (int)blockDim.x / 32, warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
    for (long long base = (long long)blockIdx.x * warps; base < rows; base += (long long)gridDim.x * warps)
    {
        if (warp >= warps) continue;
        const long long row = base + warp;
        const bool active = row < rows;
        auto xr = logits + (active ? row : 0) * classes;
        auto pr = p + (active ? row : 0) * classes;
        const int t = active && lane == 0 ? labels[row] : 0;
        const bool valid = t >= 0 && t < classes;
        const float logitT = active && lane == 0 && valid ? xr[t] : 0.0f;   // before p (which may alias) is written
        float rowMax, logSum;
        CN_WARP_ROW_SOFTMAX(xr, pr, classes, lane, active, rowMax, logSum);
        if (active && lane == 0) losses[row] = cn_row_loss((logitT - rowMax) - logSum, valid, focal, gamma);
    }
}

// ------------------------------------------------------------------------------------------- the fused training step

// One block (launch exactly one, blockDim >= 32) runs a whole batch of a classifier:
//  1. per row (one full warp each, rounds of blockDim/32 rows): p = softmax(logits); losses[row] (cross-entropy, or
//     focal); predictions[row] = the first index of the largest probability (NaN probabilities never win; a NaN at
//     index 0 keeps 0: exactly the host's "replace when strictly greater" scan from index 0); and, when grad is not
//     null, grad = gradScale * dLoss/dlogits (cross-entropy: p - onehot; focal: cn_focal_bwd's formula); a bad label
//     gives NaN loss and a NaN gradient row.
//  2. thread 0 sums the losses in row order in float64 and takes the batch mean as a float: the host's Loss.Mean bits.
//  3. the metrics buffer (cn_step_state.cuh) is updated. policy 0 (evaluation): seen, correct, loss sum and confusion
//     always accumulate. policy 1 (train, Throw) and 2 (train, SkipUpdate): the step's loss and correct count go into
//     the ring slot, the non-finite word is set to whether the mean loss is finite, and a non-finite step is not counted;
//     under 1 it sets stop (and the first-bad index) once, under 2 it adds one skipped step. Confusion counts are
//     gathered per label class (thread a owns row a of the matrix), so no two threads touch one count.
// Aliasing: p may alias logits (each lane reads the label's logit and its own elements before writing them); metrics may
// alias lossSum (lossSum points at the float64 word inside the metrics buffer; the two touch disjoint words).
CN_KERNEL cn_classify_step(GPTR(const float) logits, GPTR_UNIQUE(const int) labels, GPTR(float) p, GPTR_UNIQUE(float) losses,
                           GPTR_UNIQUE(int) predictions, GPTR_UNIQUE(float) grad, int rows, int classes, int focal, float gamma,
                           float gradScale, GPTR(int) metrics, GPTR(double) lossSum, int capacity, int policy)
{
    __shared__ int stepCounted;
    const int warps = (int)blockDim.x / 32, warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
    for (long long base = 0; base < rows && warp < warps; base += warps)
    {
        const long long row = base + warp;
        const bool active = row < rows;
        const long long at = (active ? row : 0) * classes;
        auto xr = logits + at;
        auto pr = p + at;
        const int t = active ? labels[row] : 0;
        const bool valid = t >= 0 && t < classes;
        const float logitT = active && valid ? xr[t] : 0.0f;   // before p (which may alias logits) is written
        float rowMax, logSum;
        CN_WARP_ROW_SOFTMAX(xr, pr, classes, lane, active, rowMax, logSum);
        // Largest probability (NaN counts as -1, below every probability), then its first index.
        float best = -1.0f, pt = 0.0f, nanAt0 = 0.0f;
        if (active)
            for (int j = lane; j < classes; j += 32)
            {
                const float v = pr[j];
                if (v == v && v > best) best = v;
                if (j == t) pt = v;
                if (j == 0 && v != v) nanAt0 = 1.0f;
            }
        const float top = cn_warp_max(best);
        float first = 3.402823466e38f;
        if (active)
            for (int j = lane; j < classes; j += 32)
            {
                const float v = pr[j];
                if (v == v && v == top && (float)j < first) first = (float)j;
            }
        const float index = cn_warp_min(first);
        const float nan0 = cn_warp_max(nanAt0);
        const float ptAll = cn_warp_sum(pt);   // p of the label: one lane holds it, the others add 0
        if (active)
        {
            if (lane == 0)
            {
                predictions[row] = (nan0 != 0.0f || top < 0.0f) ? 0 : (int)index;
                losses[row] = cn_row_loss((logitT - rowMax) - logSum, valid, focal, gamma);
            }
            if (grad)
            {
                float c = 1.0f;
                if (focal)
                {
                    const float q = 1.0f - ptAll;
                    c = cn_powf(q > 0.0f ? q : 0.0f, gamma);
                    if (gamma != 0.0f && q > 0.0f && ptAll > 0.0f) c -= gamma * cn_powf(q, gamma - 1.0f) * ptAll * cn_logf(ptAll);
                }
                for (int j = lane; j < classes; j += 32)
                {
                    const float onehot = j == t ? 1.0f : 0.0f;
                    grad[at + j] = !valid ? cn_qnan()
                                 : focal ? -gradScale * c * (onehot - pr[j])
                                         : gradScale * (pr[j] - onehot);
                }
            }
        }
    }
    __syncthreads();   // every row's loss and prediction is written (and visible to the whole block)

    if (threadIdx.x == 0)
    {
        double sum = 0.0;
        int correct = 0;
        for (int r = 0; r < rows; ++r)
        {
            sum += losses[r];
            correct += predictions[r] == labels[r] ? 1 : 0;
        }
        const float mean = (float)(sum / rows);
        const bool finite = cn_isfinite(mean);
        const bool counted = policy == 0 || finite;
        if (policy != 0)
        {
            const int step = metrics[CN_METRICS_STEPS];
            const int ring = CN_METRICS_CONFUSION + ((classes * classes + 1) & ~1);
            metrics[ring + step % capacity] = cn_float_as_int(mean);
            metrics[ring + capacity + step % capacity] = correct;
            metrics[CN_METRICS_STEPS] = step + 1;
            metrics[CN_METRICS_NONFINITE] = finite ? 0 : 1;
            if (!finite && policy == 1 && metrics[CN_METRICS_STOP] == 0)
            {
                metrics[CN_METRICS_STOP] = 1;
                metrics[CN_METRICS_FIRST_BAD] = step + 1;
            }
            if (!finite && policy == 2) metrics[CN_METRICS_SKIPPED] += 1;
        }
        if (counted)
        {
            metrics[CN_METRICS_SEEN] += rows;
            metrics[CN_METRICS_CORRECT] += correct;
            lossSum[0] += (double)mean * rows;
        }
        stepCounted = counted ? 1 : 0;
    }
    __syncthreads();
    if (stepCounted)
        for (int a = threadIdx.x; a < classes; a += blockDim.x)
        {
            auto row = metrics + CN_METRICS_CONFUSION + (long long)a * classes;
            for (int r = 0; r < rows; ++r)
                if (labels[r] == a) row[predictions[r]] += 1;
        }
}
