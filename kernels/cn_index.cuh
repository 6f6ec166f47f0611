// cn_index.cuh: splitting a flat element index into coordinates. GPUs have no 64-bit integer divider (a 64-bit
// div/rem is a long software sequence), while every tensor this engine launches over has fewer than 2^31 elements in
// practice; so divide in 32 bits when both operands fit, and in 64 bits otherwise. The branch is uniform across a warp
// except at the 2^31 boundary.
#pragma once
#include "cn_runtime.cuh"

// Returns a / d and stores a % d in *r, for a >= 0 and d > 0.
CN_DEVICE long long cn_divmod(long long a, long long d, long long* r)
{
    if (((unsigned long long)a | (unsigned long long)d) <= 0x7fffffffull)
    {
        const unsigned q = (unsigned)a / (unsigned)d;
        *r = (long long)((unsigned)a - q * (unsigned)d);
        return (long long)q;
    }
    const long long q = a / d;
    *r = a - q * d;
    return q;
}

// a / d, for a >= 0 and d > 0.
CN_DEVICE long long cn_div(long long a, long long d)
{
    long long r;
    return cn_divmod(a, d, &r);
}

// Channel of flat element i of a tensor viewed as (N, C, inner): (i / inner) % C.
CN_DEVICE long long cn_channel_of(long long i, long long inner, long long C)
{
    long long c;
    cn_divmod(cn_div(i, inner), C, &c);
    return c;
}
