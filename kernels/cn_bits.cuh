// cn_bits.cuh: small bit-level helpers that differ between the device compiles and the emulator:
// float <-> int bit casts (step scalars are stored as int words), a correctly rounded double square root, and turning a
// device address read from device memory (a pointer table) back into a pointer the emulator can bounds-check.
#pragma once
#include "cn_runtime.cuh"

CN_DEVICE float cn_int_as_float(int bits)
{
    union { int i; float f; } u;
    u.i = bits;
    return u.f;
}

CN_DEVICE int cn_float_as_int(float value)
{
    union { int i; float f; } u;
    u.f = value;
    return u.i;
}

#if defined(CN_EMULATE)
CN_DEVICE double cn_sqrt_f64(double x) { return std::sqrt(x); }
// A pointer to T at `address`, bounds-checked against the live allocation containing it (none: every access fails the launch).
#define CN_PTR(T, address) ::cn::pointer_from_address<T>((unsigned long long)(address))
#else
CN_DEVICE double cn_sqrt_f64(double x) { double y; asm("sqrt.rn.f64 %0, %1;" : "=d"(y) : "d"(x)); return y; }
#define CN_PTR(T, address) reinterpret_cast<T*>((unsigned long long)(address))
#endif

// base^t in double by repeated squaring, t >= 0: a fixed sequence of multiplications, so every thread gets the same bits.
CN_DEVICE double cn_pow_int(double base, int t)
{
    double result = 1.0;
    while (t > 0)
    {
        if (t & 1) result *= base;
        base *= base;
        t >>= 1;
    }
    return result;
}
