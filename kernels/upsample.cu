// upsample.cu: nearest-neighbour upsampling by integer factors.
// Shapes: x (N, C, H, W), y (N, C, H*SH, W*SW); y[n, c, oh, ow] = x[n, c, oh/SH, ow/SW].
#include "cn_runtime.cuh"

// One thread per output element (total = N*C*H*SH*W*SW).
CN_KERNEL cn_upsample_nearest_fwd(GPTR(const float) x, GPTR(float) y, long long total, int H, int W, int SH, int SW)
{
    const int OW = W * SW, OH = H * SH;
    CN_GRID_STRIDE(i, total)
    {
        const int ow = (int)(i % OW);
        const int oh = (int)((i / OW) % OH);
        const long long nc = i / ((long long)OH * OW);
        y[i] = x[(nc * H + oh / SH) * W + ow / SW];
    }
}

// Gather: one thread per input element (total = N*C*H*W) sums its SH x SW block of dY in row-major order.
CN_KERNEL cn_upsample_nearest_bwd(GPTR(const float) dy, GPTR(float) dx, long long total, int H, int W, int SH, int SW)
{
    const int OW = W * SW, OH = H * SH;
    CN_GRID_STRIDE(i, total)
    {
        const int w = (int)(i % W);
        const int h = (int)((i / W) % H);
        const long long nc = i / ((long long)H * W);
        auto block = dy + (nc * OH + (long long)h * SH) * OW + (long long)w * SW;
        float sum = 0.0f;
        for (int a = 0; a < SH; ++a)
            for (int b = 0; b < SW; ++b)
                sum += block[(long long)a * OW + b];
        dx[i] = sum;
    }
}
