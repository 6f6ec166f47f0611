// cn_emulate_runtime.cpp: the emulated CUDA device's native side. It keeps the registry of live device
// allocations (filled by C#), the registry of kernels (filled by the generated cn_emu_<file>.cpp units), runs a
// launch block by block with the block's threads as fibers, carries out warp collectives (shuffles, votes,
// __syncwarp, mma.sync) and cp.async copies, and exposes a small C ABI to C#.
#define CN_EMULATE 1
#include "cn_emulate.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#define CN_EXPORT extern "C" __attribute__((visibility("default")))

// Start and end of the "cn_shared" section (every kernel's __shared__ storage); weak so a library without any
// shared memory still links.
extern "C" char __start_cn_shared[] __attribute__((weak));
extern "C" char __stop_cn_shared[] __attribute__((weak));

#if defined(__x86_64__)
// A minimal x86-64 System V context switch: saves the callee-saved registers, MXCSR and the x87 control word on
// the current stack, stores the stack pointer to *save_sp, and resumes the context whose stack pointer is new_sp.
// (glibc's swapcontext also saves the signal mask with a system call per switch, which made the emulator ~10x slower.)
extern "C" void cn_fiber_switch(void** save_sp, void* new_sp);
extern "C" void cn_fiber_trampoline();
asm(R"(
    .text
    .globl cn_fiber_switch
    .hidden cn_fiber_switch
    .type cn_fiber_switch, @function
cn_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cn_fiber_switch, .-cn_fiber_switch

    .globl cn_fiber_trampoline
    .hidden cn_fiber_trampoline
    .type cn_fiber_trampoline, @function
cn_fiber_trampoline:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size cn_fiber_trampoline, .-cn_fiber_trampoline
)");
#endif

namespace cn
{
namespace
{
// Status codes of the C ABI (mirrored by C# EmulatorStatus).
enum status : int
{
    status_ok = 0,
    status_invalid_launch = 1,
    status_not_found = 2,
    status_argument_mismatch = 3,
    status_bad_access = 4,
    status_barrier = 5,  // reserved (no check reports it today)
    status_internal = 6,
    status_warp = 7,     // a warp collective whose lanes did not all arrive, or arrived diverged
};

constexpr std::size_t fiber_stack_bytes = 256 * 1024;
constexpr unsigned max_threads_per_block = 1024;

// ------------------------------------------------------------------------------------------- allocations
std::mutex g_alloc_mutex;
std::map<std::uint64_t, std::uint64_t>& allocations()  // base -> bytes
{
    static std::map<std::uint64_t, std::uint64_t> map;
    return map;
}

// ------------------------------------------------------------------------------------------- kernels
std::vector<kernel_entry>& kernels()
{
    static std::vector<kernel_entry> list;
    return list;
}

const kernel_entry* find_kernel(const char* name)
{
    for (const kernel_entry& k : kernels())
        if (std::strcmp(k.name, name) == 0) return &k;
    return nullptr;
}

// ------------------------------------------------------------------------------------------- fibers
enum class fiber_state
{
    ready,
    at_barrier,
    at_warp,  // waiting at a warp collective (fiber::call)
    done,
};

// A warp collective a lane waits at: its operands, and the results the resolution leaves for it.
struct warp_call
{
    int op = 0;
    unsigned mask = 0;
    unsigned in[10] = {};   // shfl: value, b, c; vote: predicate; mma: a0..a3, b0, b1, c0..c3 (bits)
    unsigned out[4] = {};   // shfl: value, in-range predicate; vote: result; mma: d0..d3 (bits)
};

// One cp.async not yet carried out.
struct pending_copy
{
    char* dst;
    const char* src;
    int bytes;
    int src_size;
    long long group;  // -1 until cp.async.commit_group
};

struct fiber
{
    thread_state thread{};
    warp_call call{};
    std::vector<pending_copy> copies;
    long long committed_groups = 0;
#if defined(__x86_64__)
    void* sp = nullptr;  // saved stack pointer while switched out
#else
    ucontext_t context{};
#endif
    char* stack = nullptr;
    fiber_state state = fiber_state::done;
};
}  // namespace

// The packed arguments and the outcome of one launch.
struct launch_args
{
    const kernel_entry* kernel = nullptr;
    const std::uint64_t* slots = nullptr;
    cn_uint3 grid{}, block{};
    int status = status_ok;
    long long error_count = 0;
    std::string error;
};

namespace
{
std::mutex g_launch_mutex;  // one launch at a time: the globals below describe the running block
launch_args* g_launch = nullptr;
std::vector<fiber> g_fibers;
#if defined(__x86_64__)
void* g_scheduler_sp = nullptr;
#else
ucontext_t g_scheduler;
#endif
void (*g_body)(void*) = nullptr;
void* g_closure = nullptr;
fiber* g_current = nullptr;
bool g_block_odd = false;  // the running block's linear index is odd (threads run in descending order, cp.async lands early)
alignas(64) char g_sink[64];

void fail(launch_args& args, int status, const char* format, ...) __attribute__((format(printf, 3, 4)));
void fail(launch_args& args, int status, const char* format, ...)
{
    args.error_count++;
    if (args.status != status_ok) return;  // keep the first error; count the rest
    char buffer[1024];
    va_list list;
    va_start(list, format);
    std::vsnprintf(buffer, sizeof buffer, format, list);
    va_end(list);
    args.status = status;
    args.error = buffer;
}

#if defined(__x86_64__)
[[noreturn]] void fiber_main(void* raw)
{
    fiber* self = static_cast<fiber*>(raw);
    g_body(g_closure);
    self->state = fiber_state::done;
    cn_fiber_switch(&self->sp, g_scheduler_sp);
    __builtin_unreachable();  // a finished fiber is never resumed; the next block re-initializes it
}

void start_fiber(fiber& f)
{
    // Initial frame as cn_fiber_switch leaves it: [mxcsr|fcw][r15][r14][r13][r12][rbx][rbp][return address].
    auto top = (reinterpret_cast<std::uintptr_t>(f.stack) + fiber_stack_bytes) & ~static_cast<std::uintptr_t>(15);
    auto* frame = reinterpret_cast<std::uint64_t*>(top - 64);
    std::uint32_t mxcsr;
    std::uint16_t fcw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fcw));
    frame[0] = mxcsr | (static_cast<std::uint64_t>(fcw) << 32);
    frame[1] = 0;                                           // r15
    frame[2] = 0;                                           // r14
    frame[3] = reinterpret_cast<std::uint64_t>(&fiber_main); // r13: entry
    frame[4] = reinterpret_cast<std::uint64_t>(&f);          // r12: its argument
    frame[5] = 0;                                           // rbx
    frame[6] = 0;                                           // rbp
    frame[7] = reinterpret_cast<std::uint64_t>(&cn_fiber_trampoline);
    f.sp = frame;
}

void resume(fiber& f) { cn_fiber_switch(&g_scheduler_sp, f.sp); }
void yield(fiber& f) { cn_fiber_switch(&f.sp, g_scheduler_sp); }
#else
void fiber_main()
{
    fiber* self = g_current;
    g_body(g_closure);
    self->state = fiber_state::done;
    // Returning resumes uc_link, the scheduler.
}

void start_fiber(fiber& f)
{
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = fiber_stack_bytes;
    f.context.uc_link = &g_scheduler;
    makecontext(&f.context, fiber_main, 0);
}

void resume(fiber& f) { swapcontext(&g_scheduler, &f.context); }
void yield(fiber& f) { swapcontext(&f.context, &g_scheduler); }
#endif

// Runs the threads of the current block until all have exited. Between barriers, threads run in ascending
// order in even blocks and descending order in odd blocks, so a missing barrier shows up one way or the other.
bool resolve_warps(launch_args& args, unsigned thread_count, bool* failed);

void run_block(launch_args& args, unsigned thread_count, bool descending)
{
    for (unsigned t = 0; t < thread_count; t++)
    {
        fiber& f = g_fibers[t];
        f.thread.idx = cn_uint3{t % args.block.x, (t / args.block.x) % args.block.y, t / (args.block.x * args.block.y)};
        f.thread.linear = t;
        f.state = fiber_state::ready;
        f.copies.clear();
        f.committed_groups = 0;
        start_fiber(f);
    }
    for (;;)
    {
        for (unsigned i = 0; i < thread_count; i++)
        {
            fiber& f = g_fibers[descending ? thread_count - 1 - i : i];
            if (f.state != fiber_state::ready) continue;
            g_current = &f;
            g_thread = &f.thread;
            resume(f);
        }
        // Every thread has now exited or waits at a barrier or a warp collective. Complete the warp collectives whose
        // lanes have all arrived first; a collective that can never complete fails the launch, and the block's fibers
        // are abandoned where they wait (their stacks are re-initialized by the next block).
        bool failed = false;
        if (resolve_warps(args, thread_count, &failed)) continue;
        if (failed) break;
        // Release the barrier. (Threads are not required to meet at the same call site: the compiler may duplicate
        // one logical __syncthreads, and sm_70+ counts arrivals.)
        bool waiting = false;
        for (unsigned t = 0; t < thread_count; t++)
        {
            fiber& f = g_fibers[t];
            if (f.state != fiber_state::at_barrier) continue;
            waiting = true;
            f.state = fiber_state::ready;
        }
        if (!waiting) break;
    }
    g_current = nullptr;
    g_thread = nullptr;
}

void ensure_fibers(unsigned count)
{
    if (g_fibers.size() >= count) return;
    std::size_t old = g_fibers.size();
    g_fibers.resize(count);
    for (std::size_t i = old; i < count; i++)
    {
        g_fibers[i].stack = static_cast<char*>(std::malloc(fiber_stack_bytes));
        if (!g_fibers[i].stack) throw std::bad_alloc();
    }
}
}  // namespace

void* report_bad_access(std::uintptr_t address, std::uintptr_t base, std::size_t bytes, std::size_t access_bytes)
{
    launch_args* args = g_launch;
    if (args)
    {
        cn_uint3 t = g_thread ? g_thread->idx : cn_uint3{0, 0, 0};
        if (base == 0)
            fail(*args, status_bad_access,
                 "kernel '%s': access of %zu bytes through %s (address 0x%llx) by block (%u,%u,%u), thread (%u,%u,%u)",
                 args->kernel->name, access_bytes,
                 address == 0 ? "a null device pointer" : "a pointer outside every live device allocation",
                 (unsigned long long)address, g_block_idx.x, g_block_idx.y, g_block_idx.z, t.x, t.y, t.z);
        else
            fail(*args, status_bad_access,
                 "kernel '%s': out-of-bounds access of %zu bytes at byte offset %lld of a %zu-byte allocation "
                 "(base 0x%llx) by block (%u,%u,%u), thread (%u,%u,%u)",
                 args->kernel->name, access_bytes, (long long)(address - base), bytes, (unsigned long long)base,
                 g_block_idx.x, g_block_idx.y, g_block_idx.z, t.x, t.y, t.z);
    }
    std::memset(g_sink, 0, sizeof g_sink);
    return g_sink;
}

void syncthreads()
{
    fiber* self = g_current;
    if (!self) std::abort();  // only kernels call this, and only inside a launch
    self->state = fiber_state::at_barrier;
    yield(*self);
}

bool lookup_allocation(std::uint64_t address, std::uintptr_t* base, std::size_t* bytes)
{
    std::lock_guard<std::mutex> lock(g_alloc_mutex);
    auto& map = allocations();
    auto it = map.upper_bound(address);
    if (it == map.begin()) return false;
    --it;
    if (address > it->first + it->second) return false;  // one past the end is a valid (empty) pointer
    *base = static_cast<std::uintptr_t>(it->first);
    *bytes = static_cast<std::size_t>(it->second);
    return true;
}

// ------------------------------------------------------------------------------------------- warp collectives
namespace
{
const char* op_name(int op)
{
    switch (op)
    {
        case op_shfl_idx: return "__shfl_sync (shfl.sync.idx)";
        case op_shfl_up: return "__shfl_up_sync (shfl.sync.up)";
        case op_shfl_down: return "__shfl_down_sync (shfl.sync.down)";
        case op_shfl_bfly: return "__shfl_xor_sync (shfl.sync.bfly)";
        case op_ballot: return "__ballot_sync (vote.sync.ballot)";
        case op_any: return "__any_sync (vote.sync.any)";
        case op_all: return "__all_sync (vote.sync.all)";
        case op_sync: return "__syncwarp (bar.warp.sync)";
        case op_mma_tf32: return "mma.sync.aligned.m16n8k8 (tf32)";
        default: return "unknown warp collective";
    }
}

const char* wait_name(fiber_state s)
{
    switch (s)
    {
        case fiber_state::done: return "has exited";
        case fiber_state::at_barrier: return "waits at __syncthreads";
        default: return "is running";
    }
}

// The calling fiber waits at a collective until resolve_warps completes it.
warp_call& arrive(int op, unsigned mask)
{
    fiber* self = g_current;
    if (!self) std::abort();  // only kernels call this, and only inside a launch
    self->call.op = op;
    self->call.mask = mask;
    return self->call;
}

void wait_at_warp()
{
    fiber* self = g_current;
    self->state = fiber_state::at_warp;
    yield(*self);
}

float bits_to_float(unsigned u)
{
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

unsigned float_to_bits(float f)
{
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}

// D = A * B + C for one m16n8k8 TF32 mma, every operand gathered from the lanes with the PTX ISA's fragment layout
// ("Matrix Fragments for mma.m16n8k8", .tf32): groupID = lane >> 2, threadID_in_group = lane % 4;
//   A (16x8, row): a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4);
//   B (8x8, col):  b0 (t, g), b1 (t + 4, g);
//   C, D (16x8):   c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1).
// Only the TF32 bits of A and B take part (the low 13 bits are ignored, as the tensor cores do); every product of two
// TF32 values is exact in FP32, and they are summed in k order in FP32 onto C.
void resolve_mma(fiber* lanes)
{
    float a[16][8], b[8][8], c[16][8];
    for (unsigned lane = 0; lane < 32; lane++)
    {
        const unsigned* in = lanes[lane].call.in;
        unsigned g = lane >> 2, t = lane & 3;
        a[g][t] = bits_to_float(in[0] & 0xffffe000u);
        a[g + 8][t] = bits_to_float(in[1] & 0xffffe000u);
        a[g][t + 4] = bits_to_float(in[2] & 0xffffe000u);
        a[g + 8][t + 4] = bits_to_float(in[3] & 0xffffe000u);
        b[t][g] = bits_to_float(in[4] & 0xffffe000u);
        b[t + 4][g] = bits_to_float(in[5] & 0xffffe000u);
        c[g][2 * t] = bits_to_float(in[6]);
        c[g][2 * t + 1] = bits_to_float(in[7]);
        c[g + 8][2 * t] = bits_to_float(in[8]);
        c[g + 8][2 * t + 1] = bits_to_float(in[9]);
    }
    float d[16][8];
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 8; n++)
        {
            float sum = 0.0f;
            for (int k = 0; k < 8; k++) sum += a[m][k] * b[k][n];
            d[m][n] = c[m][n] + sum;
        }
    for (unsigned lane = 0; lane < 32; lane++)
    {
        unsigned* out = lanes[lane].call.out;
        unsigned g = lane >> 2, t = lane & 3;
        out[0] = float_to_bits(d[g][2 * t]);
        out[1] = float_to_bits(d[g][2 * t + 1]);
        out[2] = float_to_bits(d[g + 8][2 * t]);
        out[3] = float_to_bits(d[g + 8][2 * t + 1]);
    }
}

// Completes the collective of the lanes named in `mask` (all present, same op and mask). False (with the launch
// failed) when a shuffle reads a lane outside the mask.
bool complete_group(launch_args& args, fiber* lanes, unsigned warp, unsigned mask, int op)
{
    if (op == op_mma_tf32)
    {
        resolve_mma(lanes);
    }
    else if (op == op_ballot || op == op_any || op == op_all)
    {
        unsigned ballot = 0;
        for (unsigned l = 0; l < 32; l++)
            if ((mask >> l & 1) && lanes[l].call.in[0]) ballot |= 1u << l;
        unsigned result = op == op_ballot ? ballot : op == op_any ? (ballot != 0) : (ballot == mask);
        for (unsigned l = 0; l < 32; l++)
            if (mask >> l & 1) lanes[l].call.out[0] = result;
    }
    else if (op != op_sync)
    {
        // shfl.sync (PTX ISA): bval = b[4:0], cval = c[4:0], segmask = c[12:8];
        // maxLane = (lane & segmask) | (cval & ~segmask), minLane = lane & segmask; then per mode the source lane j
        // and whether it is in range; out of range reads the lane's own value.
        unsigned values[32];
        for (unsigned l = 0; l < 32; l++) values[l] = lanes[l].call.in[0];
        for (unsigned l = 0; l < 32; l++)
        {
            if (!(mask >> l & 1)) continue;
            const unsigned* in = lanes[l].call.in;
            unsigned bval = in[1] & 31, cval = in[2] & 31, segmask = (in[2] >> 8) & 31;
            int lane = static_cast<int>(l);
            int max_lane = static_cast<int>((l & segmask) | (cval & ~segmask)), min_lane = static_cast<int>(l & segmask);
            int j = 0;
            bool pval = false;
            switch (op)
            {
                case op_shfl_up: j = lane - static_cast<int>(bval); pval = j >= max_lane; break;
                case op_shfl_down: j = lane + static_cast<int>(bval); pval = j <= max_lane; break;
                case op_shfl_bfly: j = lane ^ static_cast<int>(bval); pval = j <= max_lane; break;
                default: j = min_lane | static_cast<int>(bval & ~segmask); pval = j <= max_lane; break;
            }
            if (!pval) j = lane;
            if (!(mask >> j & 1))
            {
                fail(args, status_warp,
                     "kernel '%s': %s in warp %u of block (%u,%u,%u): lane %d reads lane %d, which is not in the mask "
                     "0x%08x (the value is undefined on a GPU)",
                     args.kernel->name, op_name(op), warp, g_block_idx.x, g_block_idx.y, g_block_idx.z, lane, j, mask);
                return false;
            }
            lanes[l].call.out[0] = values[j];
            lanes[l].call.out[1] = pval ? 1u : 0u;
        }
    }
    for (unsigned l = 0; l < 32; l++)
        if (mask >> l & 1) lanes[l].state = fiber_state::ready;
    return true;
}
}  // namespace

namespace
{
// Completes every warp collective whose lanes have all arrived; true when any did. A collective that can never
// complete (a named lane exited, waits at __syncthreads, or waits at another collective or with another mask), a mask
// without the calling lane, one naming lanes the block does not have, or an mma without the whole warp sets *failed.
bool resolve_warps(launch_args& args, unsigned thread_count, bool* failed)
{
    bool progress = false;
    for (unsigned base = 0, warp = 0; base < thread_count; base += 32, warp++)
    {
        fiber* lanes = &g_fibers[base];
        unsigned present = std::min(32u, thread_count - base);
        unsigned exists = present == 32 ? 0xffffffffu : (1u << present) - 1;
        unsigned handled = 0;
        for (unsigned l = 0; l < present; l++)
        {
            const fiber& f = lanes[l];
            if (f.state != fiber_state::at_warp || (handled >> l & 1)) continue;
            unsigned mask = f.call.mask;
            int op = f.call.op;
            const char* kernel = args.kernel->name;
            cn_uint3 b = g_block_idx;
            if (!(mask >> l & 1))
            {
                fail(args, status_warp, "kernel '%s': lane %u of warp %u in block (%u,%u,%u) calls %s with mask 0x%08x, "
                     "which does not include the calling lane", kernel, l, warp, b.x, b.y, b.z, op_name(op), mask);
                *failed = true;
                return false;
            }
            if (mask & ~exists)
            {
                fail(args, status_warp, "kernel '%s': lane %u of warp %u in block (%u,%u,%u) calls %s with mask 0x%08x, "
                     "which names lanes this warp does not have (the block has %u threads)", kernel, l, warp, b.x, b.y,
                     b.z, op_name(op), mask, thread_count);
                *failed = true;
                return false;
            }
            if (op == op_mma_tf32 && mask != 0xffffffffu)
            {
                fail(args, status_warp, "kernel '%s': %s in warp %u of block (%u,%u,%u) needs all 32 lanes but lane %u "
                     "runs it with mask 0x%08x", kernel, op_name(op), warp, b.x, b.y, b.z, l, mask);
                *failed = true;
                return false;
            }
            for (unsigned j = 0; j < 32; j++)
            {
                if (!(mask >> j & 1)) continue;
                const fiber& other = lanes[j];
                if (other.state != fiber_state::at_warp)
                {
                    fail(args, status_warp, "kernel '%s': %s in warp %u of block (%u,%u,%u) with mask 0x%08x: lane %u "
                         "named in the mask never arrives (it %s)", kernel, op_name(op), warp, b.x, b.y, b.z, mask, j,
                         wait_name(other.state));
                    *failed = true;
                    return false;
                }
                if (other.call.op != op || other.call.mask != mask)
                {
                    fail(args, status_warp, "kernel '%s': warp %u of block (%u,%u,%u) diverged: lane %u calls %s with "
                         "mask 0x%08x but lane %u, named in that mask, calls %s with mask 0x%08x", kernel, warp, b.x,
                         b.y, b.z, l, op_name(op), mask, j, op_name(other.call.op), other.call.mask);
                    *failed = true;
                    return false;
                }
            }
            if (!complete_group(args, lanes, warp, mask, op))
            {
                *failed = true;
                return false;
            }
            handled |= mask;
            progress = true;
        }
    }
    return progress;
}
}  // namespace

unsigned warp_shfl(int op, unsigned mask, unsigned value, unsigned b, unsigned c, bool* in_range)
{
    warp_call& call = arrive(op, mask);
    call.in[0] = value;
    call.in[1] = b;
    call.in[2] = c;
    wait_at_warp();
    if (in_range) *in_range = call.out[1] != 0;
    return call.out[0];
}

unsigned warp_vote(int op, unsigned mask, bool predicate)
{
    warp_call& call = arrive(op, mask);
    call.in[0] = predicate ? 1u : 0u;
    wait_at_warp();
    return call.out[0];
}

void warp_sync(unsigned mask)
{
    arrive(cn::op_sync, mask);
    wait_at_warp();
}

void warp_mma_tf32(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    warp_call& call = arrive(op_mma_tf32, 0xffffffffu);
    for (int i = 0; i < 4; i++) call.in[i] = a[i];
    call.in[4] = b[0];
    call.in[5] = b[1];
    for (int i = 0; i < 4; i++) call.in[6 + i] = float_to_bits(c[i]);
    wait_at_warp();
    for (int i = 0; i < 4; i++) d[i] = bits_to_float(call.out[i]);
}

unsigned lane_id()
{
    if (!g_thread) std::abort();
    return g_thread->linear & 31;
}

// ------------------------------------------------------------------------------------------- cp.async
void cp_async(void* shared_dst, const void* src, int bytes, int src_size)
{
    fiber* self = g_current;
    if (!self) std::abort();
    launch_args* args = g_launch;
    auto dst = static_cast<char*>(shared_dst);
    bool in_shared = dst >= __start_cn_shared && dst + bytes <= __stop_cn_shared;
    bool aligned = reinterpret_cast<std::uintptr_t>(dst) % bytes == 0 &&
                   (src_size == 0 || reinterpret_cast<std::uintptr_t>(src) % bytes == 0);
    if (!in_shared || !aligned || src_size < 0 || src_size > bytes)
    {
        cn_uint3 t = self->thread.idx;
        fail(*args, status_bad_access,
             "kernel '%s': cp.async of %d bytes (src-size %d) by block (%u,%u,%u), thread (%u,%u,%u): %s",
             args->kernel->name, bytes, src_size, g_block_idx.x, g_block_idx.y, g_block_idx.z, t.x, t.y, t.z,
             !in_shared ? "the destination is not __shared__ memory"
             : !aligned ? "an address is not aligned to the copy size"
                        : "src-size must lie in [0, cp-size]");
        return;
    }
    // The hardware may complete a copy any time between the issue and the wait that covers it. Even blocks take the
    // latest moment (a read before the wait sees the old contents), odd blocks the earliest (a refill of a buffer other
    // threads still read, without the barrier in between, overwrites what they read).
    if (g_block_odd)
    {
        if (src_size > 0) std::memcpy(dst, src, static_cast<std::size_t>(src_size));
        if (src_size < bytes) std::memset(dst + src_size, 0, static_cast<std::size_t>(bytes - src_size));
        return;
    }
    self->copies.push_back(pending_copy{dst, static_cast<const char*>(src), bytes, src_size, -1});
}

void cp_async_commit()
{
    fiber* self = g_current;
    if (!self) std::abort();
    long long group = ++self->committed_groups;
    for (pending_copy& c : self->copies)
        if (c.group < 0) c.group = group;
}

void cp_async_wait(int n)
{
    fiber* self = g_current;
    if (!self) std::abort();
    long long newest_done = self->committed_groups - n;  // groups 1..newest_done must be complete
    auto& list = self->copies;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < list.size(); i++)
    {
        pending_copy c = list[i];
        if (c.group < 0 || c.group > newest_done)
        {
            list[kept++] = c;
            continue;
        }
        if (c.src_size > 0) std::memcpy(c.dst, c.src, static_cast<std::size_t>(c.src_size));
        if (c.src_size < c.bytes) std::memset(c.dst + c.src_size, 0, static_cast<std::size_t>(c.bytes - c.src_size));
    }
    list.resize(kept);
}

bool resolve_pointer(launch_args& args, int index, std::uint64_t address, std::uintptr_t* base, std::size_t* bytes)
{
    *base = 0;
    *bytes = 0;
    if (address == 0) return true;  // a null pointer is a valid argument; dereferencing it is reported
    std::lock_guard<std::mutex> lock(g_alloc_mutex);
    auto& map = allocations();
    auto it = map.upper_bound(address);
    if (it != map.begin())
    {
        --it;
        if (address <= it->first + it->second)  // one past the end is a valid (empty) pointer
        {
            *base = static_cast<std::uintptr_t>(it->first);
            *bytes = static_cast<std::size_t>(it->second);
            return true;
        }
    }
    fail(args, status_bad_access,
         "kernel '%s': argument %d (0x%llx) is not inside any live device allocation (freed, or never allocated)",
         args.kernel->name, index, (unsigned long long)address);
    return false;
}

bool run_grid(launch_args& args, void (*body)(void*), void* closure)
{
    unsigned thread_count = args.block.x * args.block.y * args.block.z;
    ensure_fibers(thread_count);
    g_body = body;
    g_closure = closure;
    g_block_dim = args.block;
    g_grid_dim = args.grid;
    std::size_t shared_bytes = static_cast<std::size_t>(__stop_cn_shared - __start_cn_shared);
    unsigned long long linear = 0;
    for (unsigned z = 0; z < args.grid.z; z++)
        for (unsigned y = 0; y < args.grid.y; y++)
            for (unsigned x = 0; x < args.grid.x; x++, linear++)
            {
                if (args.status != status_ok) return false;  // stop at the first failing block
                g_block_idx = cn_uint3{x, y, z};
                g_block_odd = (linear & 1) != 0;
                if (shared_bytes) std::memset(__start_cn_shared, 0xFF, shared_bytes);
                run_block(args, thread_count, g_block_odd);
            }
    return args.status == status_ok;
}

void register_kernel(const kernel_entry& entry)
{
    kernels().push_back(entry);
}
}  // namespace cn

namespace
{
const char* kind_name(unsigned char kind)
{
    switch (kind)
    {
        case cn::kind_pointer: return "device pointer";
        case cn::kind_int32: return "int";
        case cn::kind_float32: return "float";
        case cn::kind_int64: return "long long";
        case cn::kind_uint64: return "unsigned long long";
        default: return "unknown";
    }
}

std::string signature(const cn::kernel_entry& k)
{
    std::string s = "(";
    for (int i = 0; i < k.parameter_count; i++)
    {
        if (i) s += ", ";
        s += kind_name(k.kinds[i]);
    }
    return s + ")";
}

void copy_error(const std::string& message, char* buffer, int length)
{
    if (!buffer || length <= 0) return;
    std::size_t n = std::min<std::size_t>(message.size(), static_cast<std::size_t>(length - 1));
    std::memcpy(buffer, message.data(), n);
    buffer[n] = 0;
}
}  // namespace

// ----------------------------------------------------------------------------------------------- C ABI
CN_EXPORT int cn_emu_abi_version() { return 2; }  // 2: warp collectives, cp.async, status_warp

CN_EXPORT int cn_emu_register_alloc(std::uint64_t pointer, std::uint64_t bytes)
{
    std::lock_guard<std::mutex> lock(cn::g_alloc_mutex);
    return cn::allocations().emplace(pointer, bytes).second ? 0 : 1;
}

CN_EXPORT int cn_emu_unregister_alloc(std::uint64_t pointer)
{
    std::lock_guard<std::mutex> lock(cn::g_alloc_mutex);
    return cn::allocations().erase(pointer) == 1 ? 0 : 1;
}

// Number of parameters of the named kernel, or -1 when the library has no such kernel.
CN_EXPORT int cn_emu_kernel_exists(const char* name)
{
    const cn::kernel_entry* k = cn::find_kernel(name);
    return k ? k->parameter_count : -1;
}

// Copies the named kernel's parameter kinds (cn::arg_kind) into kinds[0..max) and returns the parameter count,
// or -1 when there is no such kernel. Lets a caller that only has void** parameters (the driver API) pack slots.
CN_EXPORT int cn_emu_kernel_kinds(const char* name, unsigned char* kinds, int max)
{
    const cn::kernel_entry* k = cn::find_kernel(name);
    if (!k) return -1;
    for (int i = 0; i < k->parameter_count && i < max; i++) kinds[i] = k->kinds[i];
    return k->parameter_count;
}

CN_EXPORT int cn_emu_kernel_count() { return static_cast<int>(cn::kernels().size()); }

CN_EXPORT const char* cn_emu_kernel_name(int index)
{
    auto& list = cn::kernels();
    return index >= 0 && index < static_cast<int>(list.size()) ? list[index].name : nullptr;
}

// Launches a kernel synchronously. slots: one 8-byte slot per argument; kinds: the C type of each (cn::arg_kind).
// Returns a cn status; on failure errbuf receives the report.
CN_EXPORT int cn_emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                            unsigned bz, int shared_bytes, const std::uint64_t* slots, const unsigned char* kinds,
                            int count, char* errbuf, int errlen)
{
    cn::launch_args args;
    args.kernel = cn::find_kernel(name);
    if (!args.kernel)
    {
        copy_error(std::string("no kernel named '") + name + "' in the emulator library", errbuf, errlen);
        return cn::status_not_found;
    }
    const cn::kernel_entry& k = *args.kernel;
    std::string message;
    if (count != k.parameter_count)
        message = "kernel '" + std::string(name) + "' takes " + std::to_string(k.parameter_count) + " argument(s) " +
                  signature(k) + " but the launch passed " + std::to_string(count);
    for (int i = 0; message.empty() && i < count; i++)
        if (kinds[i] != k.kinds[i])
            message = "kernel '" + std::string(name) + "' argument " + std::to_string(i) + " is " +
                      kind_name(k.kinds[i]) + " but the launch passed " + kind_name(kinds[i]) + "; signature " +
                      signature(k);
    if (!message.empty())
    {
        copy_error(message, errbuf, errlen);
        return cn::status_argument_mismatch;
    }
    unsigned long long threads = 1ull * bx * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || threads > cn::max_threads_per_block ||
        bz > 64 || gy > 65535 || gz > 65535 || shared_bytes != 0)
    {
        char buffer[256];
        std::snprintf(buffer, sizeof buffer,
                      "kernel '%s': invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u) dynamic shared %d "
                      "(blocks need 1..%u threads; the emulator supports static shared memory only)",
                      name, gx, gy, gz, bx, by, bz, shared_bytes, cn::max_threads_per_block);
        copy_error(buffer, errbuf, errlen);
        return cn::status_invalid_launch;
    }
    args.slots = slots;
    args.grid = cn_uint3{gx, gy, gz};
    args.block = cn_uint3{bx, by, bz};

    std::lock_guard<std::mutex> lock(cn::g_launch_mutex);
    cn::g_launch = &args;
    try
    {
        k.run(k.function, slots, args);
    }
    catch (const std::exception& e)
    {
        cn::fail(args, cn::status_internal, "kernel '%s': emulator failure: %s", name, e.what());
    }
    cn::g_launch = nullptr;
    if (args.status != cn::status_ok)
    {
        if (args.error_count > 1) args.error += " (and " + std::to_string(args.error_count - 1) + " more error(s))";
        copy_error(args.error, errbuf, errlen);
    }
    return args.status;
}
