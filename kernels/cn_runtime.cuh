// cn_runtime.cuh: the one header every kernel includes. It makes the same kernel source compile three ways:
//   1. clang-14 -x cuda -nocudainc -nocudalib (no CUDA toolkit): we define the CUDA keywords ourselves;
//   2. nvcc: the toolkit headers define them;
//   3. host C++ (CN_EMULATE): kernels become plain functions run by the emulated device
//      (threads as fibers with real __syncthreads barriers, bounds-checked device pointers).
//
// Conventions for kernel authors (they keep all three builds working):
//   - declare kernels as   CN_KERNEL name(GPTR(const float) x, GPTR(float) y, int n)   (extern "C", no mangling);
//   - device pointer parameters use GPTR(T); local pointers derived from them use `auto` (never convert to T*),
//     so the emulated build can bounds-check every access;
//   - use cn_expf / cn_logf / cn_tanhf / cn_sqrtf / cn_powf from this header, never the libm names
//     (clang -nocudalib has no libdevice);
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
#define GPTR(T) T* __restrict__

// Element index loop covering [0, n) with any grid size.
#define CN_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

CN_DEVICE float cn_ex2(float x) { float y; asm("ex2.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_lg2(float x) { float y; asm("lg2.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_sqrtf(float x) { float y; asm("sqrt.rn.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_rcp(float x) { float y; asm("rcp.rn.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
CN_DEVICE float cn_expf(float x) { return cn_ex2(x * 1.4426950408889634f); }
CN_DEVICE float cn_logf(float x) { return cn_lg2(x) * 0.6931471805599453f; }
CN_DEVICE float cn_powf(float x, float y) { return x == 0.0f ? (y == 0.0f ? 1.0f : 0.0f) : cn_ex2(y * cn_lg2(x)); }
CN_DEVICE float cn_tanhf(float x)
{
    // tanh(x) = sign(x) * (1 - e) / (1 + e) with e = exp(-2|x|): no overflow for large |x|.
    float ax = x < 0.0f ? -x : x;
    float e = cn_expf(-2.0f * ax);
    float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}
CN_DEVICE float cn_fmaxf(float a, float b) { return a > b ? a : b; }
CN_DEVICE float cn_fminf(float a, float b) { return a < b ? a : b; }
CN_DEVICE bool cn_isfinite(float x) { return x - x == 0.0f; }

#endif
