// optimizer.cu: parameter updates, one thread per parameter; param, grad and state hold n elements.
#include "cn_runtime.cuh"

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
