// cn_sm80.cuh: the sm_80 (Ampere+) instructions our kernels use, behind small wrappers, one source for both builds:
//   - GPU: inline PTX (PTX ISA 7.0). Only code compiled for sm_80 or later may call them: guard it with
//     `#if CN_SM80` (true in the sm_80 PTX module and on the emulated device, false in the sm_70 module);
//   - emulated device (CN_EMULATE): the emulator's mma.sync warp collective and its cp.async queue (emu/cn_emulate.h).
//
// cn_tf32(x)              cvt.rna.tf32.f32: x rounded to TF32 (10 fraction bits, ties away from zero), as bits.
// cn_mma_tf32(acc, a, b)  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 acc = A * B + acc, whole warp. Fragments
//                         (PTX ISA "Matrix Fragments for mma.m16n8k8", .tf32; g = lane >> 2, t = lane % 4):
//                           A 16x8: a[0] (g, t), a[1] (g + 8, t), a[2] (g, t + 4), a[3] (g + 8, t + 4)
//                           B 8x8:  b[0] (t, g), b[1] (t + 4, g)
//                           C, D:   acc[0] (g, 2t), acc[1] (g, 2t + 1), acc[2] (g + 8, 2t), acc[3] (g + 8, 2t + 1)
// cn_cp_async4(dst, src, valid)   cp.async.ca.shared.global of 4 bytes; !valid zero-fills dst and reads nothing
//                                 (src must still be a pointer into the tensor: pass its base).
// cn_cp_async_commit()            cp.async.commit_group
// CN_CP_ASYNC_WAIT(n)             cp.async.wait_group n (n a literal): all but the n newest groups have landed in
//                                 this thread's destinations; other threads see them only after a __syncthreads.
#pragma once
#include "cn_runtime.cuh"

#if defined(CN_EMULATE)

#define CN_SM80 1
CN_DEVICE unsigned cn_tf32(float x) { return ::cn::cvt_rna_tf32(x); }
CN_DEVICE void cn_mma_tf32(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    ::cn::warp_mma_tf32(acc, a, b, acc);
}
CN_DEVICE void cn_cp_async4(float* dst, GPTR(const float) src, bool valid)
{
    ::cn::cp_async(dst, valid ? static_cast<const void*>(src.checked(1)) : nullptr, 4, valid ? 4 : 0);
}
CN_DEVICE void cn_cp_async_commit() { ::cn::cp_async_commit(); }
#define CN_CP_ASYNC_WAIT(n) ::cn::cp_async_wait(n)

#else  // ---------------------------------------------------------------- GPU

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define CN_SM80 1
#else
#define CN_SM80 0
#endif

#if CN_SM80
CN_DEVICE unsigned cn_tf32(float x) { unsigned r; asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x)); return r; }
CN_DEVICE void cn_mma_tf32(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};"
                 : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
// Shared-window address of a __shared__ pointer (what cp.async's destination operand takes).
CN_DEVICE unsigned cn_shared_address(const void* p)
{
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}
CN_DEVICE void cn_cp_async4(float* dst, GPTR(const float) src, bool valid)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" : : "r"(cn_shared_address(dst)), "l"(src), "r"(valid ? 4 : 0) : "memory");
}
CN_DEVICE void cn_cp_async_commit() { asm volatile("cp.async.commit_group;" : : : "memory"); }
#define CN_CP_ASYNC_WAIT(n) asm volatile("cp.async.wait_group %0;" : : "n"(n) : "memory")
#endif

#endif
