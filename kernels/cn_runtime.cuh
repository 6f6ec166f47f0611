// cn_runtime.cuh: the one header every kernel includes. It makes the same kernel source compile three ways:
//   1. clang-14 -x cuda -nocudainc -nocudalib (no CUDA toolkit): we define the CUDA keywords ourselves;
//   2. nvcc: the toolkit headers define them;
//   3. host C++ (CN_EMULATE): kernels become plain functions run by the emulated device
//      (threads as fibers with real __syncthreads barriers, bounds-checked device pointers).
//
// Conventions for kernel authors (they keep all three builds working):
//   - declare kernels as   CN_KERNEL name(GPTR(const float) x, GPTR(float) y, int n)   (extern "C", no mangling);
//   - device pointer parameters use GPTR(T) or GPTR_UNIQUE(T); local pointers derived from them use `auto` (never
//     convert to T*), so the emulated build can bounds-check every access;
//   - aliasing: every kernel's comment has an "Aliasing:" line naming exactly the pointer parameters that may refer to
//     the same memory ("y may alias x"), and those, and only those, are declared GPTR(T). Every other pointer parameter
//     is GPTR_UNIQUE(T): __restrict__, a promise that no other pointer of the launch reaches its memory, which lets the
//     compiler read a const one through the non-coherent cache (ld.global.nc) and reorder loads past stores. A buffer
//     written in the launch and reachable through two pointers must never be __restrict__, or those loads may return
//     stale data. "y may alias x" means the same view or disjoint memory, never a shifted overlap: each thread reads
//     the elements it writes before writing them, and reads nothing another thread writes.
//     tests/ConvNet.Gpu.Tests/Cuda/Device/KernelAliasingTests.cs checks the Aliasing lines against the declarations and
//     the embedded PTX (no ld.global.nc from a pointer that may alias);
//   - use cn_expf / cn_logf / cn_tanhf / cn_sqrtf / cn_powf from this header, never the libm names
//     (clang -nocudalib has no libdevice);
//   - numerics: GPU results differ from the CPU's in the last bits, and the tests allow it (docs/gpu-numerics.md gives
//     the expected error per op): cn_ex2/cn_lg2 are the approximate ex2.approx.f32/lg2.approx.f32 (2 ulp; lg2 2^-22
//     absolute on [0.5, 2]), and compilers contract a*b + c into one FMA (nvcc -fmad=true and clang's CUDA default
//     -ffp-contract=fast), which rounds once instead of twice. The emulated device models both (its primitives err by
//     the documented maximum, and its kernels are compiled with FMA contraction), so a test that compares arithmetic
//     results bit for bit between CUDA and the CPU fails in CI, not first on a GPU. Data movement stays exact;
//   - static shared memory only (`__shared__ float tile[256];`), warp intrinsics only through cn_warp.cuh and
//     cn_sm80.cuh (the emulator checks them), no atomics:
//     backward passes are gathers, so results are deterministic;
//   - grid-stride loops (CN_GRID_STRIDE) so any grid size is correct.
#pragma once

#if defined(CN_EMULATE)
#include "emu/cn_emulate.h"
#else  // ---------------------------------------------------------------- device compile (clang or nvcc)

#if defined(__clang__) && !defined(__NVCC__)
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#endif

#define CN_KERNEL extern "C" __global__ void
#define CN_DEVICE static __device__ __forceinline__
// A device pointer parameter that may alias another pointer parameter of the kernel (see "aliasing" above).
#define GPTR(T) T*
// A device pointer parameter whose memory no other pointer parameter of the launch reaches.
#define GPTR_UNIQUE(T) T* __restrict__

// Element index loop covering [0, n) with any grid size.
#define CN_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// The GPU's math primitives, one PTX instruction each: ex2.approx.f32 and lg2.approx.f32 are approximations (see
// "numerics" in the conventions above); sqrt.rn.f32 and rcp.rn.f32 are correctly rounded.
CN_DEVICE float cn_ex2(float x) { float y; asm("ex2.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_lg2(float x) { float y; asm("lg2.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_sqrtf(float x) { float y; asm("sqrt.rn.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_rcp(float x) { float y; asm("rcp.rn.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }

#endif

// ---------------------------------------------------------------- shared math (device and emulator alike)
// Built from the primitives above, so the emulated device computes every transcendental with the GPU's formula and
// only the primitives differ (kernels/emu/cn_emulate.h models ex2.approx/lg2.approx at their documented worst error).
CN_DEVICE float cn_expf(float x) { return cn_ex2(x * 1.4426950408889634f); }
CN_DEVICE float cn_logf(float x) { return cn_lg2(x) * 0.6931471805599453f; }
CN_DEVICE float cn_powf(float x, float y) { return x == 0.0f ? (y == 0.0f ? 1.0f : 0.0f) : cn_ex2(y * cn_lg2(x)); }
// e^x - 1 without the cancellation of cn_expf(x) - 1 near 0: below |x| = 1/4 a degree-7 Taylor polynomial (truncation
// under 1e-9 relative), else cn_expf(x) - 1, whose relative error there is at most ~3 times ex2's.
CN_DEVICE float cn_expm1f(float x)
{
    const float ax = x < 0.0f ? -x : x;
    if (ax < 0.25f)
        return x * (1.0f + x * (0.5f + x * (1.0f / 6 + x * (1.0f / 24 + x * (1.0f / 120 + x * (1.0f / 720 + x * (1.0f / 5040)))))));
    return cn_expf(x) - 1.0f;
}
CN_DEVICE float cn_tanhf(float x)
{
    // Below |x| = 1/4 the odd Taylor series to x^11 (truncation under 1e-9 relative): the closed form would cancel
    // in 1 - e there and lose all relative accuracy as x -> 0. Above it, tanh(x) = sign(x) * (1 - e) / (1 + e) with
    // e = exp(-2|x|), which cannot overflow; its relative error stays within a few ex2 errors (docs/gpu-numerics.md).
    const float ax = x < 0.0f ? -x : x;
    if (ax < 0.25f)
    {
        const float x2 = x * x;
        return x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835 + x2 * (-1382.0f / 155925))))));
    }
    const float e = cn_expf(-2.0f * ax);
    const float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}
CN_DEVICE float cn_fmaxf(float a, float b) { return a > b ? a : b; }
CN_DEVICE float cn_fminf(float a, float b) { return a < b ? a : b; }
CN_DEVICE bool cn_isfinite(float x) { return x - x == 0.0f; }
