// cn_warp.cuh: warp collectives (sm_70+) behind small wrappers, one source for both builds:
//   - GPU (clang-14 / nvcc): each wrapper is one inline PTX instruction (shfl.sync, vote.sync, bar.warp.sync);
//   - emulated device (CN_EMULATE): each wrapper is a warp collective of the emulator (emu/cn_emulate.h), which
//     waits until every lane named in the mask has arrived and fails the launch when one never does or diverges.
// The CUDA intrinsics they mirror, with the same semantics (CUDA C++ Programming Guide, "Warp Shuffle Functions"):
//   cn_shfl_sync(mask, v, src, width)       __shfl_sync       lane (src mod width) of the caller's width-segment
//   cn_shfl_up_sync(mask, v, delta, width)  __shfl_up_sync    lane - delta, or the caller's own v below the segment
//   cn_shfl_down_sync(mask, v, delta, width) __shfl_down_sync lane + delta, or the caller's own v past the segment
//   cn_shfl_xor_sync(mask, v, m, width)     __shfl_xor_sync   lane ^ m, or the caller's own v in a later segment
//   cn_ballot_sync / cn_any_sync / cn_all_sync / cn_syncwarp
// Rules (the emulator enforces them): the calling lane is in `mask`; every lane named in `mask` calls the same
// wrapper with the same mask; a shuffle never reads a lane outside the mask. width is a power of two in [1, 32].
// Lane numbers: kernels use one-dimensional blocks, so the lane is threadIdx.x % 32 (cn_lane_id()).
#pragma once
#include "cn_runtime.cuh"

#define CN_FULL_MASK 0xffffffffu
#define CN_WARP_SIZE 32

// PTX's c operand for a shuffle of `width` lanes: segment mask (32 - width) in bits 8..12, clamp in bits 0..4
// (31 for idx/down/bfly, 0 for up).
#define CN_SHFL_C(width, clamp) ((unsigned)((32 - (width)) << 8) | (unsigned)(clamp))

#if defined(CN_EMULATE)

CN_DEVICE unsigned cn_lane_id() { return ::cn::lane_id(); }
CN_DEVICE unsigned cn_float_bits(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
CN_DEVICE float cn_bits_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
CN_DEVICE unsigned cn_shfl_bits(int op, unsigned mask, unsigned v, unsigned b, unsigned c) { return ::cn::warp_shfl(op, mask, v, b, c, nullptr); }
#define CN_SHFL_IDX ::cn::op_shfl_idx
#define CN_SHFL_UP ::cn::op_shfl_up
#define CN_SHFL_DOWN ::cn::op_shfl_down
#define CN_SHFL_BFLY ::cn::op_shfl_bfly
CN_DEVICE unsigned cn_ballot_sync(unsigned mask, bool p) { return ::cn::warp_vote(::cn::op_ballot, mask, p); }
CN_DEVICE bool cn_any_sync(unsigned mask, bool p) { return ::cn::warp_vote(::cn::op_any, mask, p) != 0; }
CN_DEVICE bool cn_all_sync(unsigned mask, bool p) { return ::cn::warp_vote(::cn::op_all, mask, p) != 0; }
CN_DEVICE void cn_syncwarp(unsigned mask = CN_FULL_MASK) { ::cn::warp_sync(mask); }

#else  // ---------------------------------------------------------------- GPU: inline PTX (PTX ISA 6.0, sm_70)

CN_DEVICE unsigned cn_lane_id() { unsigned l; asm("mov.u32 %0, %%laneid;" : "=r"(l)); return l; }
CN_DEVICE unsigned cn_float_bits(float x) { unsigned u; asm("mov.b32 %0, %1;" : "=r"(u) : "f"(x)); return u; }
CN_DEVICE float cn_bits_float(unsigned u) { float x; asm("mov.b32 %0, %1;" : "=f"(x) : "r"(u)); return x; }
#define CN_SHFL_IDX 0
#define CN_SHFL_UP 1
#define CN_SHFL_DOWN 2
#define CN_SHFL_BFLY 3
CN_DEVICE unsigned cn_shfl_bits(int op, unsigned mask, unsigned v, unsigned b, unsigned c)
{
    // op is a compile-time constant at every call site, so only one instruction remains after inlining.
    unsigned r;
    if (op == CN_SHFL_IDX) asm volatile("shfl.sync.idx.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(v), "r"(b), "r"(c), "r"(mask));
    else if (op == CN_SHFL_UP) asm volatile("shfl.sync.up.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(v), "r"(b), "r"(c), "r"(mask));
    else if (op == CN_SHFL_DOWN) asm volatile("shfl.sync.down.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(v), "r"(b), "r"(c), "r"(mask));
    else asm volatile("shfl.sync.bfly.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(v), "r"(b), "r"(c), "r"(mask));
    return r;
}
CN_DEVICE unsigned cn_ballot_sync(unsigned mask, bool p)
{
    unsigned r;
    asm volatile("{ .reg .pred q; setp.ne.u32 q, %1, 0; vote.sync.ballot.b32 %0, q, %2; }" : "=r"(r) : "r"((unsigned)p), "r"(mask));
    return r;
}
CN_DEVICE bool cn_any_sync(unsigned mask, bool p)
{
    unsigned r;
    asm volatile("{ .reg .pred q, s; setp.ne.u32 q, %1, 0; vote.sync.any.pred s, q, %2; selp.u32 %0, 1, 0, s; }" : "=r"(r) : "r"((unsigned)p), "r"(mask));
    return r != 0;
}
CN_DEVICE bool cn_all_sync(unsigned mask, bool p)
{
    unsigned r;
    asm volatile("{ .reg .pred q, s; setp.ne.u32 q, %1, 0; vote.sync.all.pred s, q, %2; selp.u32 %0, 1, 0, s; }" : "=r"(r) : "r"((unsigned)p), "r"(mask));
    return r != 0;
}
CN_DEVICE void cn_syncwarp(unsigned mask = CN_FULL_MASK) { asm volatile("bar.warp.sync %0;" : : "r"(mask) : "memory"); }

#endif

// Typed shuffles (32-bit int and float), the CUDA intrinsics' argument order and default width.
CN_DEVICE int cn_shfl_sync(unsigned mask, int v, int src, int width = CN_WARP_SIZE)
{ return (int)cn_shfl_bits(CN_SHFL_IDX, mask, (unsigned)v, (unsigned)src, CN_SHFL_C(width, 31)); }
CN_DEVICE float cn_shfl_sync(unsigned mask, float v, int src, int width = CN_WARP_SIZE)
{ return cn_bits_float(cn_shfl_bits(CN_SHFL_IDX, mask, cn_float_bits(v), (unsigned)src, CN_SHFL_C(width, 31))); }
CN_DEVICE int cn_shfl_up_sync(unsigned mask, int v, unsigned delta, int width = CN_WARP_SIZE)
{ return (int)cn_shfl_bits(CN_SHFL_UP, mask, (unsigned)v, delta, CN_SHFL_C(width, 0)); }
CN_DEVICE float cn_shfl_up_sync(unsigned mask, float v, unsigned delta, int width = CN_WARP_SIZE)
{ return cn_bits_float(cn_shfl_bits(CN_SHFL_UP, mask, cn_float_bits(v), delta, CN_SHFL_C(width, 0))); }
CN_DEVICE int cn_shfl_down_sync(unsigned mask, int v, unsigned delta, int width = CN_WARP_SIZE)
{ return (int)cn_shfl_bits(CN_SHFL_DOWN, mask, (unsigned)v, delta, CN_SHFL_C(width, 31)); }
CN_DEVICE float cn_shfl_down_sync(unsigned mask, float v, unsigned delta, int width = CN_WARP_SIZE)
{ return cn_bits_float(cn_shfl_bits(CN_SHFL_DOWN, mask, cn_float_bits(v), delta, CN_SHFL_C(width, 31))); }
CN_DEVICE int cn_shfl_xor_sync(unsigned mask, int v, int lane_mask, int width = CN_WARP_SIZE)
{ return (int)cn_shfl_bits(CN_SHFL_BFLY, mask, (unsigned)v, (unsigned)lane_mask, CN_SHFL_C(width, 31)); }
CN_DEVICE float cn_shfl_xor_sync(unsigned mask, float v, int lane_mask, int width = CN_WARP_SIZE)
{ return cn_bits_float(cn_shfl_bits(CN_SHFL_BFLY, mask, cn_float_bits(v), (unsigned)lane_mask, CN_SHFL_C(width, 31))); }

// Sum over the 32 lanes of a full warp by butterfly (xor 16, 8, 4, 2, 1): every lane gets the same total, summed in
// the same fixed pairing order on every run (deterministic).
CN_DEVICE float cn_warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += cn_shfl_xor_sync(CN_FULL_MASK, v, offset);
    return v;
}
