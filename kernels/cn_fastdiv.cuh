// cn_fastdiv.cuh: division by a runtime-invariant divisor with one multiply-high and a shift (Granlund & Montgomery,
// "Division by invariant integers using multiplication", 1994), for index arithmetic: a hardware-less 32-bit division
// is ~20 instructions on a GPU and a 64-bit one ~70, while this is 2-4.
//
// The host (FastDivisor.Magic in C#) packs, for a divisor d in [1, 2^31):
//   l = ceil(log2 d), mul = ceil(2^(31 + l) / d) (< 2^32), shift = l - 1;  magic = mul | (shift << 32);  d = 1: magic = 0.
// Then for every 0 <= n < 2^31:  n / d = umulhi(n, mul) >> shift. (Proof: mul = 2^(31+l)/d + e with 0 <= e < 1, so
// n*mul / 2^(31+l) = n/d + n*e/2^(31+l), and n*e/2^(31+l) < 2^31/2^(31+l) = 2^-l <= 1/d: the error never reaches the
// next multiple of 1/d above n/d's fractional part, so the floor is unchanged.)
// cn_fdivmod takes long long dividends and falls back to a real 64-bit division above 2^31 - 1 (warp-uniform except at
// that boundary), so kernels stay correct for any size while the sizes we launch take the fast path.
#pragma once
#include "cn_runtime.cuh"

// High 32 bits of the 64-bit product a*b (mul.hi.u32 on the GPU).
CN_DEVICE unsigned cn_umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }

// q = n / d and *r = n % d for n >= 0 and 1 <= d < 2^31, with magic from FastDivisor.Magic(d).
CN_DEVICE long long cn_fdivmod(long long n, long long d, unsigned long long magic, long long* r)
{
    if ((unsigned long long)n <= 0x7fffffffull)
    {
        const unsigned mul = (unsigned)magic;
        const unsigned q = mul == 0u ? (unsigned)n : cn_umulhi((unsigned)n, mul) >> (unsigned)(magic >> 32);
        *r = n - (long long)q * d;
        return (long long)q;
    }
    const long long q = n / d;
    *r = n - q * d;
    return q;
}

// 32-bit form for indices known to be below 2^31 (e.g. positions inside one plane).
CN_DEVICE int cn_fdivmod32(int n, int d, unsigned long long magic, int* r)
{
    const unsigned mul = (unsigned)magic;
    const int q = mul == 0u ? n : (int)(cn_umulhi((unsigned)n, mul) >> (unsigned)(magic >> 32));
    *r = n - q * d;
    return q;
}
