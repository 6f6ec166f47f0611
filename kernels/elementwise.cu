// elementwise.cu: flat element-wise arithmetic and per-channel broadcasts (the bias add is epilogue.cu's
// cn_bias_act_fwd). All kernels take the
// element count n (or total) and use grid-stride loops; each thread reads its elements before writing them, so the
// outputs named in each kernel's Aliasing line may be the same tensor as its inputs.
#include "cn_fastdiv.cuh"

// y = v.
// Aliasing: none.
CN_KERNEL cn_fill(GPTR_UNIQUE(float) y, long long n, float v)
{
    CN_GRID_STRIDE(i, n) y[i] = v;
}

// y = a + b.
// Aliasing: y may alias a or b, and a may alias b.
CN_KERNEL cn_add(GPTR(const float) a, GPTR(const float) b, GPTR(float) y, long long n)
{
    CN_GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

// y = a * b.
// Aliasing: y may alias a or b, and a may alias b.
CN_KERNEL cn_mul(GPTR(const float) a, GPTR(const float) b, GPTR(float) y, long long n)
{
    CN_GRID_STRIDE(i, n) y[i] = a[i] * b[i];
}

// y = alpha * x.
// Aliasing: y may alias x.
CN_KERNEL cn_scale(GPTR(const float) x, GPTR(float) y, long long n, float alpha)
{
    CN_GRID_STRIDE(i, n) y[i] = alpha * x[i];
}

// y += alpha * x.
// Aliasing: x may alias y (y = (1 + alpha) * y).
CN_KERNEL cn_axpy(GPTR(const float) x, GPTR(float) y, long long n, float alpha)
{
    CN_GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

// y[n, c, i] = x[n, c, i] * scale[c] + (hasShift ? shift[c] : 0): x, y (N, C, inner), total = N*C*inner.
// Without a shift the caller passes scale again as shift (never read).
// Aliasing: y may alias x. scale and shift are only read, so they may be the same buffer while staying __restrict__
// (restrict constrains only memory that the launch modifies).
// The channel is (i / inner) % C by two multiply-highs (cn_fastdiv.cuh).
CN_KERNEL cn_channel_affine(GPTR(const float) x, GPTR_UNIQUE(const float) scale, GPTR_UNIQUE(const float) shift,
                            GPTR(float) y, long long total, int C, long long inner, unsigned long long innerMagic,
                            unsigned long long cMagic, int hasShift)
{
    CN_GRID_STRIDE(i, total)
    {
        long long e, c;
        cn_fdivmod(cn_fdivmod(i, inner, innerMagic, &e), C, cMagic, &c);
        const float v = x[i] * scale[c];
        y[i] = hasShift ? v + shift[c] : v;
    }
}
