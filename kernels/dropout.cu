// dropout.cu: inverted dropout with the counter-based generator of ConvNet.Gpu.DropoutRng, reproduced
// bit for bit: z = seed + (counter + 1) * golden gamma, SplitMix64 finalizer, top 24 bits / 2^24.
// x, y, mask hold n elements; mask[i] = u(seed, offset + i) >= p ? keepScale : 0, y = x * mask.
// keepScale = 1/(1 - p) is computed once on the host, as the CPU backend does.
#include "cn_runtime.cuh"

CN_DEVICE float cn_dropout_uniform(unsigned long long seed, unsigned long long counter)
{
    unsigned long long z = seed + (counter + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

// Aliasing: y may alias x; mask aliases nothing (it is written before x is read).
CN_KERNEL cn_dropout_fwd(GPTR(const float) x, GPTR(float) y, GPTR_UNIQUE(float) mask, long long n, float p,
                         float keepScale, unsigned long long seed, unsigned long long offset)
{
    CN_GRID_STRIDE(i, n)
    {
        const float m = cn_dropout_uniform(seed, offset + (unsigned long long)i) >= p ? keepScale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// The same with (seed, offset) read from device memory (two 64-bit words, DropoutRng.WriteSeedAndOffset), so a replayed
// CUDA graph draws each step's mask from the values the host wrote before the replay.
// Aliasing: y may alias x; mask aliases nothing.
CN_KERNEL cn_dropout_fwd_dev(GPTR(const float) x, GPTR(float) y, GPTR_UNIQUE(float) mask, long long n, float p, float keepScale,
                             GPTR_UNIQUE(const unsigned long long) seedAndOffset)
{
    const unsigned long long seed = seedAndOffset[0], offset = seedAndOffset[1];
    CN_GRID_STRIDE(i, n)
    {
        const float m = cn_dropout_uniform(seed, offset + (unsigned long long)i) >= p ? keepScale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}
