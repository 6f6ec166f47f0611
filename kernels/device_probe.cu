// device_probe.cu: probes of the warp-level and sm_80 instructions, through the same wrappers the convolution kernels
// use (cn_warp.cuh, cn_sm80.cuh). Tests launch them on the emulated device and on a GPU and compare with the CUDA
// semantics computed independently in C#, so the emulator and the inline PTX are held to the same answers.
// Every probe runs in ONE block of blockDim.x threads (any multiple of 32 for the warp probes); lane = threadIdx.x % 32.
// `participants` selects the lanes (bit per lane, the same in every warp) that call the collective; the others skip
// it and go straight to the closing __syncthreads. With participants == mask the probes are valid CUDA; the other
// combinations are what the emulator must reject (tests only run those on the emulator).
#include "cn_runtime.cuh"
#include "cn_warp.cuh"
#include "cn_sm80.cuh"

// out[t] = the shuffle of in[t] for participating lanes, -1 for the others. Lanes 0-15 call with `mask`, lanes 16-31
// with `mask_hi` (equal for a whole-warp shuffle; 0x0000ffff and 0xffff0000 for two independent half-warp shuffles).
// op: 0 __shfl_sync(src = arg), 1 __shfl_up_sync(delta = arg), 2 __shfl_down_sync(delta = arg), 3 __shfl_xor_sync
// (laneMask = arg); 4..7 the same on float values (in[t] converted to float and back).
// Aliasing: none.
CN_KERNEL cn_probe_shfl(GPTR_UNIQUE(const int) in, GPTR_UNIQUE(int) out, int op, int arg, int width, int participants,
                        int mask, int mask_hi)
{
    int t = threadIdx.x;
    unsigned lane = cn_lane_id();
    int r = -1;
    if (((unsigned)participants >> lane) & 1u)
    {
        unsigned m = lane < 16 ? (unsigned)mask : (unsigned)mask_hi;
        int v = in[t];
        float f = (float)v;
        switch (op)
        {
            case 0: r = cn_shfl_sync(m, v, arg, width); break;
            case 1: r = cn_shfl_up_sync(m, v, (unsigned)arg, width); break;
            case 2: r = cn_shfl_down_sync(m, v, (unsigned)arg, width); break;
            case 3: r = cn_shfl_xor_sync(m, v, arg, width); break;
            case 4: r = (int)cn_shfl_sync(m, f, arg, width); break;
            case 5: r = (int)cn_shfl_up_sync(m, f, (unsigned)arg, width); break;
            case 6: r = (int)cn_shfl_down_sync(m, f, (unsigned)arg, width); break;
            default: r = (int)cn_shfl_xor_sync(m, f, arg, width); break;
        }
    }
    __syncthreads();
    out[t] = r;
}

// Votes on the predicate in[t] != 0. op: 0 __ballot_sync (out = the ballot bits), 1 __any_sync, 2 __all_sync (0/1),
// 3 __syncwarp: every participant writes in[t] to shared memory, syncs, and reads its neighbour's (lane ^ 1) value,
// which is only there if the __syncwarp held; 4 the same exchange without the __syncwarp (a race: the emulator must
// expose it; tests run it on the emulator only). Non-participants write -1.
// Aliasing: none.
CN_KERNEL cn_probe_vote(GPTR_UNIQUE(const int) in, GPTR_UNIQUE(int) out, int op, int participants, int mask)
{
    __shared__ int exchange[1024];
    int t = threadIdx.x;
    unsigned lane = cn_lane_id();
    int r = -1;
    if (((unsigned)participants >> lane) & 1u)
    {
        unsigned m = (unsigned)mask;
        bool p = in[t] != 0;
        switch (op)
        {
            case 0: r = (int)cn_ballot_sync(m, p); break;
            case 1: r = cn_any_sync(m, p) ? 1 : 0; break;
            case 2: r = cn_all_sync(m, p) ? 1 : 0; break;
            default:
                exchange[t] = in[t];
                if (op == 3) cn_syncwarp(m);
                r = exchange[t ^ 1];
                break;
        }
    }
    __syncthreads();
    out[t] = r;
}

// Per-lane reduction of in[] (one float per thread) by cn_warp_sum: out[t] = the sum over t's warp, for every lane.
// Aliasing: none.
CN_KERNEL cn_probe_warp_sum(GPTR_UNIQUE(const float) in, GPTR_UNIQUE(float) out)
{
    int t = threadIdx.x;
    out[t] = cn_warp_sum(in[t]);
}

#if CN_SM80
// out[i] = the bits of cvt.rna.tf32.f32(x[i]), i < n (grid-stride).
// Aliasing: none.
CN_KERNEL cn_probe_tf32(GPTR_UNIQUE(const float) x, GPTR_UNIQUE(int) out, long long n)
{
    CN_GRID_STRIDE(i, n) out[i] = (int)cn_tf32(x[i]);
}

// d (16x8, row-major) = A (16x8, row-major) * B (8x8, row-major k x n) + C (16x8) by one mma.sync m16n8k8 per warp
// (every warp computes the same product); A and B are rounded with cvt.rna.tf32.f32 on the way into the fragments.
// Lanes outside `participants` skip the mma (the emulator must reject that); they write nothing.
// Aliasing: none.
CN_KERNEL cn_probe_mma_tf32(GPTR_UNIQUE(const float) a, GPTR_UNIQUE(const float) b, GPTR_UNIQUE(const float) c,
                            GPTR_UNIQUE(float) d, int participants)
{
    unsigned lane = cn_lane_id();
    if (!(((unsigned)participants >> lane) & 1u)) return;
    unsigned g = lane >> 2, t = lane & 3;
    unsigned fa[4] = {cn_tf32(a[g * 8 + t]), cn_tf32(a[(g + 8) * 8 + t]), cn_tf32(a[g * 8 + t + 4]), cn_tf32(a[(g + 8) * 8 + t + 4])};
    unsigned fb[2] = {cn_tf32(b[t * 8 + g]), cn_tf32(b[(t + 4) * 8 + g])};
    float acc[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t], c[(g + 8) * 8 + 2 * t + 1]};
    cn_mma_tf32(acc, fa, fb);
    if (threadIdx.x >= 32) return;  // one warp writes the result
    d[g * 8 + 2 * t] = acc[0];
    d[g * 8 + 2 * t + 1] = acc[1];
    d[(g + 8) * 8 + 2 * t] = acc[2];
    d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}

// A double-buffered cp.async pipeline over `tiles` tiles of blockDim.x floats: tile i + 1 is in flight while tile i is
// read. out[i * B + t] = src[i * B + (t + 1) % B] (each thread reads the element another thread copied); elements at or
// past n are zero-filled by the copy. mode 0 is correct (commit, wait_group 1 / 0, __syncthreads); mode 1 never waits,
// mode 2 waits without committing, mode 3 waits for all but the newest group where the newest is the one needed:
// the emulator must expose each (tests run modes 1-3 on the emulator only).
// Aliasing: none.
CN_KERNEL cn_probe_cp_async(GPTR_UNIQUE(const float) src, GPTR_UNIQUE(float) out, int n, int tiles, int mode)
{
    __shared__ float stage[2][1024];
    int t = threadIdx.x, B = blockDim.x;
    auto issue = [&](int tile) {
        int i = tile * B + t;
        cn_cp_async4(&stage[tile & 1][t], i < n ? src + i : src, i < n);
        if (mode != 2) cn_cp_async_commit();
    };
    issue(0);
    for (int tile = 0; tile < tiles; tile++)
    {
        if (tile + 1 < tiles)
        {
            issue(tile + 1);
            if (mode == 0 || mode == 2) CN_CP_ASYNC_WAIT(1);
            else if (mode == 3) CN_CP_ASYNC_WAIT(2);
        }
        else if (mode == 0 || mode == 2)
        {
            CN_CP_ASYNC_WAIT(0);
        }
        else if (mode == 3)
        {
            CN_CP_ASYNC_WAIT(1);
        }
        __syncthreads();
        out[tile * B + t] = stage[tile & 1][(t + 1) % B];
        __syncthreads();
    }
}
#endif
