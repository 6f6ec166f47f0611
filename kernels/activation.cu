// activation.cu: point-wise activations (cn_activation.cuh). kind follows ConvNet.Gpu.ActivationKind:
// 0 ReLU, 1 LeakyReLU (alpha = negative slope), 2 ELU (alpha = saturation), 3 Sigmoid, 4 Tanh.
// x, y, dy, dx all hold n elements. One thread per element: it reads its element of each input before writing its
// element of the output, and touches no other element, so outputs may be the very tensors they are computed from.
#include "cn_activation.cuh"

// y = f(x).
// Aliasing: y may alias x (in-place activation).
CN_KERNEL cn_activation_fwd(GPTR(const float) x, GPTR(float) y, long long n, int kind, float alpha)
{
    CN_GRID_STRIDE(i, n) y[i] = cn_act(kind, alpha, x[i]);
}

// dx = f'(x) * dy. ReLU/LeakyReLU take the sign from x; ELU uses f' = y + alpha for x <= 0;
// Sigmoid and Tanh use y (y(1 - y) and 1 - y^2).
// Aliasing: dx may alias x, y or dy.
CN_KERNEL cn_activation_bwd(GPTR(const float) x, GPTR(const float) y, GPTR(const float) dy, GPTR(float) dx,
                            long long n, int kind, float alpha)
{
    CN_GRID_STRIDE(i, n)
    {
        const float g = dy[i];
        float d;
        switch (kind)
        {
            case 0: d = x[i] > 0.0f ? g : 0.0f; break;
            case 1: d = x[i] > 0.0f ? g : alpha * g; break;
            case 2: d = x[i] > 0.0f ? g : g * (y[i] + alpha); break;
            case 3: { const float s = y[i]; d = g * s * (1.0f - s); break; }
            default: { const float t = y[i]; d = g * (1.0f - t * t); break; }
        }
        dx[i] = d;
    }
}
