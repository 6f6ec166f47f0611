// upsample.cu: nearest-neighbour upsampling by integer factors.
// Shapes: x (N, C, H, W), y (N, C, H*SH, W*SW); y[n, c, oh, ow] = x[n, c, oh/SH, ow/SW].
#include "cn_index.cuh"

// One thread per output element (total = N*C*H*SH*W*SW).
// Aliasing: none.
CN_KERNEL cn_upsample_nearest_fwd(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(float) y, long long total, int H, int W,
                                  int SH, int SW)
{
    const int OW = W * SW, OH = H * SH;
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)OH * OW, &p);
        const int oh = (int)p / OW, ow = (int)p % OW;
        y[i] = x[(nc * H + oh / SH) * W + ow / SW];
    }
}

// Gather: one thread per input element (total = N*C*H*W) sums its SH x SW block of dY in row-major order.
// Aliasing: none.
CN_KERNEL cn_upsample_nearest_bwd(GPTR_UNIQUE(const float) dy, GPTR_UNIQUE(float) dx, long long total, int H, int W,
                                  int SH, int SW)
{
    const int OW = W * SW, OH = H * SH;
    CN_GRID_STRIDE(i, total)
    {
        long long p;
        const long long nc = cn_divmod(i, (long long)H * W, &p);
        const int h = (int)p / W, w = (int)p % W;
        auto block = dy + (nc * OH + (long long)h * SH) * OW + (long long)w * SW;
        float sum = 0.0f;
        for (int a = 0; a < SH; ++a)
            for (int b = 0; b < SW; ++b)
                sum += block[(long long)a * OW + b];
        dx[i] = sum;
    }
}
