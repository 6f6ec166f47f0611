// optimizer.cu: parameter updates. The per-tensor kernels take one parameter tensor each; the multi-tensor kernels
// update every parameter of a model in ONE launch from a device table, and read the step-dependent values (learning
// rate, step number) from device memory, so a captured CUDA graph replays them with each step's values.
//
// Table (long long words, 6 per tensor i): [6i] param, [6i+1] grad, [6i+2] state 0, [6i+3] state 1 (0 when unused),
// [6i+4] element count, [6i+5] index of its first chunk. A tensor of n elements has ceil(n / chunkSize) chunks, numbered
// consecutively tensor after tensor; block b takes chunks b, b + gridDim, ... and finds a chunk's tensor by binary search
// over the first-chunk column (log2(tensors) steps, the same for the whole block). Elements are independent, so the
// result does not depend on the launch geometry.
// Guard (see cn_step_state.cuh): when not null, the update is skipped once the stop word is set, or for this step when
// the non-finite word is set and skipNonFinite; Adam's t is the step scalar minus the skipped-steps word.
#include "cn_bits.cuh"
#include "cn_step_state.cuh"

// SGD with momentum (PyTorch semantics): g = grad + wd*param; with momentum > 0, v = momentum*v + g and
// param -= lr * (nesterov ? g + momentum*v : v); with momentum = 0, param -= lr*g and v is untouched.
// Aliasing: none.
CN_KERNEL cn_sgd_step(GPTR_UNIQUE(float) param, GPTR_UNIQUE(const float) grad, GPTR_UNIQUE(float) velocity,
                      long long n, float lr, float momentum, float weightDecay, int nesterov)
{
    CN_GRID_STRIDE(i, n)
    {
        const float p = param[i];
        const float g = grad[i] + weightDecay * p;
        if (momentum == 0.0f) { param[i] = p - lr * g; continue; }
        const float v = momentum * velocity[i] + g;
        velocity[i] = v;
        param[i] = p - lr * (nesterov ? g + momentum * v : v);
    }
}

// Adam / AdamW. biasCorrection1 = 1 - beta1^t and biasCorrection2 = 1 - beta2^t come from the host (computed in double).
// decoupled: param *= 1 - lr*wd before the step; otherwise g = grad + wd*param.
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; param -= lr * (m/bc1) / (sqrt(v/bc2) + eps).
// Aliasing: none.
CN_KERNEL cn_adam_step(GPTR_UNIQUE(float) param, GPTR_UNIQUE(const float) grad, GPTR_UNIQUE(float) m,
                       GPTR_UNIQUE(float) v, long long n, float lr, float beta1, float beta2, float epsilon,
                       float weightDecay, int decoupled, float biasCorrection1, float biasCorrection2)
{
    CN_GRID_STRIDE(i, n)
    {
        float p = param[i];
        float g = grad[i];
        if (decoupled) p *= 1.0f - lr * weightDecay;
        else g += weightDecay * p;
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = p - lr * (mi / biasCorrection1) / (cn_sqrtf(vi / biasCorrection2) + epsilon);
    }
}

// The tensor owning chunk `chunk`: the last i with firstChunk(i) <= chunk.
CN_DEVICE int cn_table_tensor(GPTR(const long long) table, int tensors, long long chunk)
{
    int lo = 0, hi = tensors - 1;
    while (lo < hi)
    {
        const int mid = (lo + hi + 1) / 2;
        if (table[6LL * mid + 5] <= chunk) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

// Whether the guard says to skip this step's update.
CN_DEVICE bool cn_guard_skips(GPTR(const int) guard, int skipNonFinite)
{
    return guard && (guard[CN_GUARD_STOP] != 0 || (skipNonFinite && guard[CN_GUARD_NONFINITE] != 0));
}

// SGD (as cn_sgd_step) over every tensor of the table (state 0 = velocity); lr from the step scalars.
// Aliasing: none (the tensors the table points to are distinct buffers, read and written element by element).
CN_KERNEL cn_sgd_multi(GPTR_UNIQUE(const long long) table, int tensors, long long chunks, int chunkSize, GPTR_UNIQUE(const int) scalars,
                       GPTR_UNIQUE(const int) guard, float momentum, float weightDecay, int nesterov, int skipNonFinite)
{
    if (cn_guard_skips(guard, skipNonFinite)) return;
    const float lr = cn_int_as_float(scalars[CN_SCALAR_LR]);
    for (long long chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x)
    {
        const int t = cn_table_tensor(table, tensors, chunk);
        auto param = CN_PTR(float, table[6LL * t]);
        auto grad = CN_PTR(const float, table[6LL * t + 1]);
        auto velocity = CN_PTR(float, table[6LL * t + 2]);
        const long long n = table[6LL * t + 4], begin = (chunk - table[6LL * t + 5]) * chunkSize;
        const long long end = begin + chunkSize < n ? begin + chunkSize : n;
        for (long long i = begin + threadIdx.x; i < end; i += blockDim.x)
        {
            const float p = param[i];
            const float g = grad[i] + weightDecay * p;
            if (momentum == 0.0f) { param[i] = p - lr * g; continue; }
            const float v = momentum * velocity[i] + g;
            velocity[i] = v;
            param[i] = p - lr * (nesterov ? g + momentum * v : v);
        }
    }
}

// Adam / AdamW over every tensor of the table (state 0 = m, state 1 = v), in the CPU backend's form (PyTorch's):
// with t = step scalar - skipped steps, stepSize = lr / (1 - beta1^t) and bc2Sqrt = sqrt(1 - beta2^t) in float64
// (powers by repeated squaring, the same bits in every thread); AdamW first scales param by 1 - lr*wd, Adam adds wd*param
// to the gradient; m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2, param -= stepSize * m / (sqrt(v) / bc2Sqrt + eps).
// Aliasing: none (the tensors the table points to are distinct buffers, read and written element by element).
CN_KERNEL cn_adam_multi(GPTR_UNIQUE(const long long) table, int tensors, long long chunks, int chunkSize, GPTR_UNIQUE(const int) scalars,
                        GPTR_UNIQUE(const int) guard, float beta1, float beta2, float epsilon, float weightDecay, int decoupled,
                        int skipNonFinite)
{
    if (cn_guard_skips(guard, skipNonFinite)) return;
    const float lr = cn_int_as_float(scalars[CN_SCALAR_LR]);
    const int t = scalars[CN_SCALAR_STEP] - (guard ? guard[CN_GUARD_SKIPPED] : 0);
    const double bc1 = 1.0 - cn_pow_int((double)beta1, t), bc2 = 1.0 - cn_pow_int((double)beta2, t);
    const float stepSize = (float)((double)lr / bc1), bc2Sqrt = (float)cn_sqrt_f64(bc2);
    const float decay = decoupled ? 1.0f - lr * weightDecay : 1.0f, gradDecay = decoupled ? 0.0f : weightDecay;
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (long long chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x)
    {
        const int ti = cn_table_tensor(table, tensors, chunk);
        auto param = CN_PTR(float, table[6LL * ti]);
        auto grad = CN_PTR(const float, table[6LL * ti + 1]);
        auto m = CN_PTR(float, table[6LL * ti + 2]);
        auto v = CN_PTR(float, table[6LL * ti + 3]);
        const long long n = table[6LL * ti + 4], begin = (chunk - table[6LL * ti + 5]) * chunkSize;
        const long long end = begin + chunkSize < n ? begin + chunkSize : n;
        for (long long i = begin + threadIdx.x; i < end; i += blockDim.x)
        {
            float p = param[i];
            const float g = grad[i] + gradDecay * p;
            p *= decay;
            const float mm = beta1 * m[i] + c1 * g;
            const float vv = beta2 * v[i] + c2 * (g * g);
            m[i] = mm;
            v[i] = vv;
            param[i] = p - stepSize * mm / (cn_sqrtf(vv) / bc2Sqrt + epsilon);
        }
    }
}
