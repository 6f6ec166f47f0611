// cn_igemm.cuh: the implicit-GEMM machinery shared by the convolution kernels (conv_igemm.cu): the tile shape, the
// double-buffered main loops (FP32 SIMT with plain or cp.async loads, TF32 mma.sync), and their shared-memory layout.
//
// Every pass is one GEMM per group, D[r][c] = sum_q A[r][q] * B[q][c], whose operands are gathered from the tensors on
// the fly (conv_igemm_ops.cuh says how per pass; nothing like an im2col buffer is written):
//   a block computes a BM x BN tile of D (blockIdx.y: group and row tile; blockIdx.x, grid-stride: column tile) and
//   walks q in steps of BK. Step t's A (BK x BM) and B (BK x BN) slices sit in shared memory as As[t&1][k][r] and
//   Bs[t&1][k][c] while step t+1's are loaded into the other buffer: with cp.async on sm_80+ (in flight during the
//   compute), with plain loads below (the loading warp waits for its loads; the block's other warps compute
//   meanwhile). A __syncthreads separates the loads of a step from its compute, and another the compute from the
//   refill of its buffer. Out-of-range elements (padding, tile edges) are zeros, so they add nothing.
// The reduction order of every output element is fixed (q ascending within the kernel), so results are bit-reproducible.
//
// Thread layouts (256 threads):
//   loads: an operand whose gather is contiguous along q uses "q-fastest" (element e = tid + j*256: k = e % BK,
//          t = e / BK); one contiguous along the tile's other index uses "t-fastest" (t = e % BT, k = e / BT).
//   SIMT compute: tid = ty*16 + tx; rows ty*4 + i (i < 4), columns tx*4 + j and 64 + tx*4 + j (j < 4): BM = 64, BN = 128.
//   TF32 compute: 8 warps as 2 (rows) x 4 (columns), warp tile 32 x 32 = 2 x 4 mma.m16n8k8 tiles, fragments per
//          cn_sm80.cuh; shared rows are padded by 8 floats so the fragment loads are bank-conflict free.
#pragma once
#include "cn_runtime.cuh"
#include "cn_sm80.cuh"

// Member functions of the per-pass operand classes (CN_DEVICE is for free functions).
#if defined(CN_EMULATE)
#define CN_DEVICE_MEMBER inline
#else
#define CN_DEVICE_MEMBER __device__ __forceinline__
#endif

// The tile kernels' launch bounds: 256 threads, and ptxas must fit two blocks per SM (at most 128 registers per thread;
// kernels/ptx-resources.md shows they do without spills). Written between CN_KERNEL and the name:
//   CN_KERNEL CN_LAUNCH_BOUNDS(256, 2) cn_igemm_fwd_f32(...)   (build/gen-emu-unit.sh accepts this form)
#if defined(CN_EMULATE)
#define CN_LAUNCH_BOUNDS(threads, blocks)
#elif defined(__clang__) && !defined(__NVCC__)
#define CN_LAUNCH_BOUNDS(threads, blocks) __attribute__((launch_bounds(threads, blocks)))
#else
#define CN_LAUNCH_BOUNDS(threads, blocks) __launch_bounds__(threads, blocks)
#endif

// Full unrolling of the small fixed-count loops, so per-thread arrays (accumulators, fragments, gather state) stay in
// registers instead of local memory (the ptxas resource table checks: build/ptx-resources.sh).
#if defined(CN_EMULATE)
#define CN_UNROLL
#else
#define CN_UNROLL _Pragma("unroll")
#endif

#define CN_IGEMM_THREADS 256
#define CN_IGEMM_BM 64
#define CN_IGEMM_BN 128
#define CN_IGEMM_PAD 8
#define CN_IGEMM_SA (CN_IGEMM_BM + CN_IGEMM_PAD)  // As row stride (floats)
#define CN_IGEMM_SB (CN_IGEMM_BN + CN_IGEMM_PAD)  // Bs row stride (floats)

// The convolution's geometry as the kernels receive it, plus derived sizes. Tensors: x (N, C, H, W),
// w (K, C/G, KH, KW), y (N, K, OH, OW), all NCHW contiguous. PT/PL: top/left padding; DH/DW: dilation.
struct cn_conv
{
    int N, C, H, W, K, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, G;
    int CG, KG, KHKW, RG, HW, OHOW;  // C/G, K/G, KH*KW, C/G*KH*KW, H*W, OH*OW
};

CN_DEVICE cn_conv cn_make_conv(int N, int C, int H, int W, int K, int KH, int KW, int SH, int SW, int PT, int PL, int DH,
                               int DW, int OH, int OW, int G)
{
    cn_conv g;
    g.N = N; g.C = C; g.H = H; g.W = W; g.K = K; g.KH = KH; g.KW = KW; g.SH = SH; g.SW = SW; g.PT = PT; g.PL = PL;
    g.DH = DH; g.DW = DW; g.OH = OH; g.OW = OW; g.G = G;
    g.CG = C / G; g.KG = K / G; g.KHKW = KH * KW; g.RG = g.CG * g.KHKW; g.HW = H * W; g.OHOW = OH * OW;
    return g;
}

// A decomposed reduction index (outer, kh, kw) of a filter-shaped range outer x KH x KW, advanced by a fixed step
// without division: step = d_outer * KHKW + d_kh * KW + d_kw with d_kh < KH and d_kw < KW, so one carry each suffices.
struct cn_tap
{
    int outer, kh, kw;
};

CN_DEVICE cn_tap cn_tap_of(int q, int KH, int KW)
{
    cn_tap t;
    int khkw = KH * KW;
    t.outer = q / khkw;
    int rem = q - t.outer * khkw;
    t.kh = rem / KW;
    t.kw = rem - t.kh * KW;
    return t;
}

CN_DEVICE void cn_tap_advance(cn_tap& t, const cn_tap& step, int KH, int KW)
{
    t.kw += step.kw;
    if (t.kw >= KW) { t.kw -= KW; t.kh++; }
    t.kh += step.kh;
    if (t.kh >= KH) { t.kh -= KH; t.outer++; }
    t.outer += step.outer;
}

// ------------------------------------------------------------------------------------------------- FP32 SIMT
// Op (cn_igemm_ops.cuh) provides, for this thread:
//   static constexpr int BK; A_PER / B_PER elements per k-step; A_K(j), A_T(j), B_K(j), B_T(j): where element j goes;
//   bool a(int j, GPTR(const float)& p) / b(...): element j's address, false for a zero (then op.a_base /
//   op.b_base, pointers into the same tensors, stand in as the address a zero-filling cp.async names);
//   void advance(): move to the next k-step;
//   the epilogue, by column then row (one division per column, not per element): bool column(int c, long long& at)
//   gives column c's part of the output offset (false past the edge), put(int r, long long at, float v) stores D[r][c].

// The current k-step's slices into shared buffer `buf`, then the op moves to the next step. ASYNC (sm_80+): cp.async
// (zeros are zero-filling copies), committed as one group, landing while the block computes on the other buffer; else
// plain loads stored straight into the buffer (the other warps compute meanwhile). One element at a time (the loops
// are not unrolled): the addresses are cheap to recompute, and unrolled they would hold a dozen 64-bit addresses live
// next to the accumulators.
template <class Op, bool ASYNC>
CN_DEVICE void cn_igemm_fetch(Op& op, float (*As)[Op::BK][CN_IGEMM_SA], float (*Bs)[Op::BK][CN_IGEMM_SB], int buf)
{
#pragma unroll 1
    for (int j = 0; j < Op::A_PER; j++)
    {
        GPTR(const float) p;
        bool ok = op.a(j, p);
        float* dst = &As[buf][op.A_K(j)][op.A_T(j)];
#if CN_SM80
        if (ASYNC) { cn_cp_async4(dst, ok ? p : op.a_base, ok); continue; }
#endif
        *dst = ok ? *p : 0.0f;
    }
#pragma unroll 1
    for (int j = 0; j < Op::B_PER; j++)
    {
        GPTR(const float) p;
        bool ok = op.b(j, p);
        float* dst = &Bs[buf][op.B_K(j)][op.B_T(j)];
#if CN_SM80
        if (ASYNC) { cn_cp_async4(dst, ok ? p : op.b_base, ok); continue; }
#endif
        *dst = ok ? *p : 0.0f;
    }
#if CN_SM80
    if (ASYNC) cn_cp_async_commit();
#endif
    op.advance();
}

template <class Op, bool ASYNC>
CN_DEVICE void cn_igemm_simt(Op& op, int ksteps, float (*As)[Op::BK][CN_IGEMM_SA], float (*Bs)[Op::BK][CN_IGEMM_SB])
{
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    float acc[4][8];
    CN_UNROLL
    for (int i = 0; i < 4; i++)
        CN_UNROLL
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    cn_igemm_fetch<Op, ASYNC>(op, As, Bs, 0);
    for (int step = 0; step < ksteps; step++)
    {
        const int buf = step & 1;
        if (step + 1 < ksteps)
        {
            cn_igemm_fetch<Op, ASYNC>(op, As, Bs, buf ^ 1);
#if CN_SM80
            if (ASYNC) CN_CP_ASYNC_WAIT(1);  // this step's group has landed; the next one stays in flight
#endif
        }
        else
        {
#if CN_SM80
            if (ASYNC) CN_CP_ASYNC_WAIT(0);
#endif
        }
        __syncthreads();  // this step's buffer is complete and visible to every thread
        CN_UNROLL
        for (int k = 0; k < Op::BK; k++)
        {
            float a[4], b[8];
            CN_UNROLL
            for (int i = 0; i < 4; i++) a[i] = As[buf][k][ty * 4 + i];
            CN_UNROLL
            for (int j = 0; j < 4; j++)
            {
                b[j] = Bs[buf][k][tx * 4 + j];
                b[4 + j] = Bs[buf][k][64 + tx * 4 + j];
            }
            CN_UNROLL
            for (int i = 0; i < 4; i++)
                CN_UNROLL
                for (int j = 0; j < 8; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();  // everyone is done reading `buf` before it is refilled
    }
    CN_UNROLL
    for (int j = 0; j < 8; j++)
    {
        long long at;
        if (!op.column(j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4), at)) continue;
        CN_UNROLL
        for (int i = 0; i < 4; i++) op.put(ty * 4 + i, at, acc[i][j]);
    }
}

// ------------------------------------------------------------------------------------------------- TF32 mma.sync
#if CN_SM80
// The same pipeline with cp.async loads; the compute is mma.sync m16n8k8 on TF32-rounded fragments (cvt.rna on the
// way out of shared memory), accumulating in FP32. Op::BK must be a multiple of 8.
template <class Op>
CN_DEVICE void cn_igemm_tf32(Op& op, int ksteps, float (*As)[Op::BK][CN_IGEMM_SA], float (*Bs)[Op::BK][CN_IGEMM_SB])
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = (warp >> 2) * 32, wn = (warp & 3) * 32;  // the warp's 32 x 32 tile
    const int g = lane >> 2, t = lane & 3;
    float acc[2][4][4];
    CN_UNROLL
    for (int i = 0; i < 2; i++)
        CN_UNROLL
        for (int j = 0; j < 4; j++)
            CN_UNROLL
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

    cn_igemm_fetch<Op, true>(op, As, Bs, 0);
    for (int step = 0; step < ksteps; step++)
    {
        const int buf = step & 1;
        const bool more = step + 1 < ksteps;
        if (more)
        {
            cn_igemm_fetch<Op, true>(op, As, Bs, buf ^ 1);
            CN_CP_ASYNC_WAIT(1);
        }
        else
        {
            CN_CP_ASYNC_WAIT(0);
        }
        __syncthreads();
#pragma unroll 1
        for (int k8 = 0; k8 < Op::BK; k8 += 8)
        {
            unsigned fa[2][4], fb[4][2];
            CN_UNROLL
            for (int i = 0; i < 2; i++)
            {
                const int r = wm + i * 16 + g;
                fa[i][0] = cn_tf32(As[buf][k8 + t][r]);
                fa[i][1] = cn_tf32(As[buf][k8 + t][r + 8]);
                fa[i][2] = cn_tf32(As[buf][k8 + t + 4][r]);
                fa[i][3] = cn_tf32(As[buf][k8 + t + 4][r + 8]);
            }
            CN_UNROLL
            for (int j = 0; j < 4; j++)
            {
                const int c = wn + j * 8 + g;
                fb[j][0] = cn_tf32(Bs[buf][k8 + t][c]);
                fb[j][1] = cn_tf32(Bs[buf][k8 + t + 4][c]);
            }
            CN_UNROLL
            for (int i = 0; i < 2; i++)
                CN_UNROLL
                for (int j = 0; j < 4; j++) cn_mma_tf32(acc[i][j], fa[i], fb[j]);
        }
        __syncthreads();
    }
    CN_UNROLL
    for (int j = 0; j < 4; j++)
        CN_UNROLL
        for (int odd = 0; odd < 2; odd++)
        {
            long long at;
            if (!op.column(wn + j * 8 + 2 * t + odd, at)) continue;
            CN_UNROLL
            for (int i = 0; i < 2; i++)
            {
                op.put(wm + i * 16 + g, at, acc[i][j][odd]);
                op.put(wm + i * 16 + g + 8, at, acc[i][j][2 + odd]);
            }
        }
}
#endif
