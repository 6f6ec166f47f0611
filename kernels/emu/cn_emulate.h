// cn_emulate.h: the CN_EMULATE branch of cn_runtime.cuh. Kernels in kernels/*.cu compile as host C++ (g++/clang++,
// -std=c++17 -DCN_EMULATE) into libconvnet_cuda_emu.so, which the emulated CUDA device launches by name.
//
// What it models (see cn_emulate_runtime.cpp for the scheduler):
//   - threadIdx/blockIdx/blockDim/gridDim: blocks run one after another; the threads of a block are fibers on one
//     OS thread that switch only at __syncthreads, so a barrier has real semantics (every thread of the block
//     reaches it before any passes it);
//   - __shared__: static storage in the "cn_shared" section, poisoned (all bytes 0xFF: NaN floats, -1 ints) before
//     every block, so reading shared memory nobody wrote in this block gives NaN/-1 instead of a stale value.
//     Between barriers, threads run in ascending order in even blocks and descending order in odd blocks: a
//     missing __syncthreads then reads poison or a not-yet-updated value and the result is wrong;
//   - GPTR(T): a bounds-checked device pointer remembering the allocation it came from. Every access is checked;
//     a violation is recorded (kernel, block, thread, byte offset, allocation size) and the launch fails;
//   - the math primitives cn_ex2/cn_lg2 (below) err like the GPU's ex2.approx/lg2.approx at their documented maximum;
//     cn_expf, cn_logf, cn_tanhf and cn_powf are the same formulas as on the GPU (cn_runtime.cuh). The kernel objects
//     are compiled with FMA contraction (build/build-emu-object.sh), as nvcc and clang compile them for the GPU.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

struct cn_uint3
{
    unsigned int x, y, z;
};
typedef cn_uint3 uint3;
typedef cn_uint3 dim3;

namespace cn
{
// One emulated CUDA thread (a fiber of the running block).
struct thread_state
{
    cn_uint3 idx;
    unsigned linear;  // x + y * blockDim.x + z * blockDim.x * blockDim.y: lane = linear % 32, warp = linear / 32
};

// Launch geometry of the block being run (launches are serialized, so plain globals suffice).
inline thread_state* g_thread = nullptr;
inline cn_uint3 g_block_idx{0, 0, 0};
inline cn_uint3 g_block_dim{1, 1, 1};
inline cn_uint3 g_grid_dim{1, 1, 1};

// Records an out-of-bounds (or null) access of `access_bytes` at `address` against the allocation
// [base, base + bytes); defined in cn_emulate_runtime.cpp. Returns a scratch location the access may use instead.
void* report_bad_access(std::uintptr_t address, std::uintptr_t base, std::size_t bytes, std::size_t access_bytes);

// Bounds-checked device pointer: the address plus the allocation it was derived from.
template <class T>
class gptr
{
public:
    using element_type = T;

    gptr() = default;
    gptr(std::uintptr_t address, std::uintptr_t base, std::size_t bytes) : addr_(address), base_(base), bytes_(bytes) {}

    // GPTR(float) converts to GPTR(const float), as T* does to const T*.
    template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value>>
    gptr(const gptr<U>& other) : addr_(other.address()), base_(other.base()), bytes_(other.allocation_bytes()) {}

    std::uintptr_t address() const { return addr_; }

    // The address of `count` elements starting here, after checking they lie inside the allocation (a violation is
    // reported like any other access and a scratch location is returned). For accesses made on the pointer's behalf,
    // e.g. the source of an emulated cp.async.
    T* checked(std::size_t count) const
    {
        std::uintptr_t offset = addr_ - base_;
        std::size_t bytes = count * sizeof(T);
        if (base_ == 0 || offset > bytes_ || bytes_ - offset < bytes)
            return static_cast<T*>(report_bad_access(addr_, base_, bytes_, bytes));
        return reinterpret_cast<T*>(addr_);
    }
    std::uintptr_t base() const { return base_; }
    std::size_t allocation_bytes() const { return bytes_; }

    T& operator*() const { return at(addr_); }

    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    T& operator[](I i) const { return at(addr_ + static_cast<std::uintptr_t>(static_cast<long long>(i) * (long long)sizeof(T))); }

    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    gptr operator+(I i) const { return moved(static_cast<long long>(i)); }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    friend gptr operator+(I i, const gptr& p) { return p.moved(static_cast<long long>(i)); }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    gptr operator-(I i) const { return moved(-static_cast<long long>(i)); }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    gptr& operator+=(I i) { return *this = moved(static_cast<long long>(i)); }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>>
    gptr& operator-=(I i) { return *this = moved(-static_cast<long long>(i)); }
    gptr& operator++() { return *this = moved(1); }
    gptr& operator--() { return *this = moved(-1); }
    gptr operator++(int) { gptr old = *this; *this = moved(1); return old; }
    gptr operator--(int) { gptr old = *this; *this = moved(-1); return old; }

    template <class U>
    std::ptrdiff_t operator-(const gptr<U>& other) const
    {
        return (static_cast<std::ptrdiff_t>(addr_) - static_cast<std::ptrdiff_t>(other.address())) / (std::ptrdiff_t)sizeof(T);
    }

    template <class U> bool operator==(const gptr<U>& o) const { return addr_ == o.address(); }
    template <class U> bool operator!=(const gptr<U>& o) const { return addr_ != o.address(); }
    template <class U> bool operator<(const gptr<U>& o) const { return addr_ < o.address(); }
    template <class U> bool operator<=(const gptr<U>& o) const { return addr_ <= o.address(); }
    template <class U> bool operator>(const gptr<U>& o) const { return addr_ > o.address(); }
    template <class U> bool operator>=(const gptr<U>& o) const { return addr_ >= o.address(); }
    explicit operator bool() const { return addr_ != 0; }

private:
    gptr moved(long long elements) const
    {
        return gptr(addr_ + static_cast<std::uintptr_t>(elements * (long long)sizeof(T)), base_, bytes_);
    }

    T& at(std::uintptr_t a) const
    {
        // Unsigned wrap-around turns an address below the base into a huge offset: one comparison covers both ends.
        std::uintptr_t offset = a - base_;
        if (base_ == 0 || offset > bytes_ || bytes_ - offset < sizeof(T))
            return *static_cast<T*>(report_bad_access(a, base_, bytes_, sizeof(T)));
        return *reinterpret_cast<T*>(a);
    }

    std::uintptr_t addr_ = 0;
    std::uintptr_t base_ = 0;
    std::size_t bytes_ = 0;
};

// Barrier of the running block: the fiber yields until every thread of the block has arrived (or exited).
void syncthreads();

// The live allocation containing `address` (one past the end counts), or false. Defined in cn_emulate_runtime.cpp.
bool lookup_allocation(std::uint64_t address, std::uintptr_t* base, std::size_t* bytes);

// A checked pointer for a device address read from device memory (e.g. a pointer table): derived from the allocation
// containing it, or with no allocation (every access then fails the launch, naming the address).
template <class T>
gptr<T> pointer_from_address(std::uint64_t address)
{
    std::uintptr_t base = 0;
    std::size_t bytes = 0;
    if (address == 0 || !lookup_allocation(address, &base, &bytes)) return gptr<T>(static_cast<std::uintptr_t>(address), 0, 0);
    return gptr<T>(static_cast<std::uintptr_t>(address), base, bytes);
}

// ---------------------------------------------------------------------------------------- warps (sm_70+)
// A warp collective: the calling fiber waits until every lane named in `mask` has arrived at a collective of the
// same kind with the same mask, then all of them get their results at once (cn_emulate_runtime.cpp). A lane named
// in the mask that has exited, waits at __syncthreads, or calls another collective or another mask fails the launch
// naming the kernel, the warp and the lanes; so does a mask without the calling lane or naming lanes the block does
// not have. Lanes are linear thread indices modulo 32, as on the GPU.
enum warp_op : int
{
    op_shfl_idx = 0,   // shfl.sync.idx
    op_shfl_up = 1,    // shfl.sync.up
    op_shfl_down = 2,  // shfl.sync.down
    op_shfl_bfly = 3,  // shfl.sync.bfly
    op_ballot = 4,     // vote.sync.ballot.b32
    op_any = 5,        // vote.sync.any.pred
    op_all = 6,        // vote.sync.all.pred
    op_sync = 7,       // bar.warp.sync
    op_mma_tf32 = 8,   // mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
};

// shfl.sync.<op>.b32 d|p, a = value, b, c, membermask, with the PTX ISA's semantics for b and c
// (c = ((32 - width) << 8) | clamp). *in_range receives the destination predicate p.
unsigned warp_shfl(int op, unsigned mask, unsigned value, unsigned b, unsigned c, bool* in_range);
// vote.sync.{ballot,any,all}: the ballot of the mask's lanes' predicates, or any/all of them as 0/1.
unsigned warp_vote(int op, unsigned mask, bool predicate);
// bar.warp.sync mask.
void warp_sync(unsigned mask);
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {d}, {a}, {b}, {c} (the fragment layout of the PTX ISA, all 32
// lanes): d = A (16x8) * B (8x8) + C, with the low 13 bits of every .tf32 operand ignored.
void warp_mma_tf32(float d[4], const unsigned a[4], const unsigned b[2], const float c[4]);
// %laneid of the calling thread.
unsigned lane_id();

// cvt.rna.tf32.f32 as the GPU computes it: for finite inputs add half a TF32 unit in the last place (ties away from
// zero; a carry may round up to the next binade or to infinity), then clear the low 13 bits; NaN and infinity keep
// their high 19 bits.
inline unsigned cvt_rna_tf32(float x)
{
    unsigned bits;
    std::memcpy(&bits, &x, 4);
    if (std::fabs(x) < INFINITY) bits += 0x1000u;
    return bits & 0xffffe000u;
}

// ---------------------------------------------------------------------------------------- cp.async (sm_80+)
// cp.async.ca.shared.global [dst], [src], bytes, src_size. The hardware may complete a copy any time between its issue
// and the cp.async.wait_group that covers its group; the emulator takes both extremes: in even blocks (block 0
// included) the copy is queued on the calling thread and carried out only by that wait, so a kernel that reads the
// destination before waiting, or waits without committing, sees the poison or the previous tile; in odd blocks it lands
// at once, so refilling a buffer that other threads still read (a missing __syncthreads) overwrites their data.
// src_size < bytes zero-fills the rest; src is only read (and bounds-checked) when src_size > 0.
void cp_async(void* shared_dst, const void* src, int bytes, int src_size);
// cp.async.commit_group: the thread's uncommitted copies become its newest group.
void cp_async_commit();
// cp.async.wait_group n: completes every committed group but the n newest.
void cp_async_wait(int n);

// ---------------------------------------------------------------------------------------- kernel registry
// Argument kinds, shared with C# (KernelArgKind).
enum arg_kind : unsigned char
{
    kind_pointer = 1,
    kind_int32 = 2,
    kind_float32 = 3,
    kind_int64 = 4,
    kind_uint64 = 5,
};

struct launch_args;  // opaque: the packed arguments of one launch (runtime side)

// Resolves a packed device pointer to its live allocation; false (with an error recorded) when it is none.
bool resolve_pointer(launch_args& args, int index, std::uint64_t address, std::uintptr_t* base, std::size_t* bytes);

template <class P>
struct param
{
    static_assert(sizeof(P) == 0,
        "CN_KERNEL parameters must be GPTR(T) (T in float, const float, int, const int), int, long long, "
        "unsigned long long or float");
};
template <class T>
struct param<gptr<T>>
{
    static constexpr unsigned char kind = kind_pointer;
    static gptr<T> make(std::uint64_t slot, int index, launch_args& args, bool& ok)
    {
        std::uintptr_t base = 0;
        std::size_t bytes = 0;
        if (!resolve_pointer(args, index, slot, &base, &bytes)) ok = false;
        return gptr<T>(static_cast<std::uintptr_t>(slot), base, bytes);
    }
};
template <class S, unsigned char K>
struct scalar_param
{
    static constexpr unsigned char kind = K;
    static S make(std::uint64_t slot, int, launch_args&, bool&)
    {
        S value;
        std::memcpy(&value, &slot, sizeof(S));  // little-endian: 4-byte values sit at the start of their slot
        return value;
    }
};
template <> struct param<int> : scalar_param<int, kind_int32> {};
template <> struct param<float> : scalar_param<float, kind_float32> {};
template <> struct param<long long> : scalar_param<long long, kind_int64> {};
template <> struct param<long> : scalar_param<long, kind_int64> {};
template <> struct param<unsigned long long> : scalar_param<unsigned long long, kind_uint64> {};
template <> struct param<unsigned long> : scalar_param<unsigned long, kind_uint64> {};

// Runs the whole grid, calling body(closure) once per emulated thread; defined in the runtime.
bool run_grid(launch_args& args, void (*body)(void*), void* closure);

struct kernel_entry
{
    const char* name;
    const char* source;
    int parameter_count;
    const unsigned char* kinds;
    void* function;
    bool (*run)(void* function, const std::uint64_t* slots, launch_args& args);
};

void register_kernel(const kernel_entry& entry);

template <class... P>
struct launcher
{
    using fn_t = void (*)(P...);
    static constexpr unsigned char kinds[sizeof...(P) + 1] = {param<P>::kind..., 0};

    static bool run(void* function, const std::uint64_t* slots, launch_args& args)
    {
        return unpack_and_run(reinterpret_cast<fn_t>(function), slots, args, std::index_sequence_for<P...>{});
    }

    template <std::size_t... I>
    static bool unpack_and_run(fn_t fn, const std::uint64_t* slots, launch_args& args, std::index_sequence<I...>)
    {
        bool ok = true;
        // Braced initialization evaluates left to right, so errors name the first bad argument.
        std::tuple<P...> values{param<P>::make(slots[I], static_cast<int>(I), args, ok)...};
        (void)slots;
        if (!ok) return false;
        struct closure
        {
            fn_t fn;
            std::tuple<P...>* values;
            static void call(void* self)
            {
                auto* c = static_cast<closure*>(self);
                std::apply(c->fn, *c->values);  // each thread gets its own copy of the arguments
            }
        } c{fn, &values};
        return run_grid(args, &closure::call, &c);
    }
};

struct registrar
{
    template <class... P>
    registrar(const char* name, const char* source, void (*fn)(P...))
    {
        register_kernel(kernel_entry{name, source, static_cast<int>(sizeof...(P)), launcher<P...>::kinds,
                                     reinterpret_cast<void*>(fn), &launcher<P...>::run});
    }
};
}  // namespace cn

// Registers a kernel of the including translation unit (used by the generated cn_emu_<file>.cpp).
#define CN_EMU_REGISTER(name) static ::cn::registrar cn_emu_registrar_##name(#name, __FILE__, &name);

// ---------------------------------------------------------------------------------------- CUDA surface
#define threadIdx (::cn::g_thread->idx)
#define blockIdx (::cn::g_block_idx)
#define blockDim (::cn::g_block_dim)
#define gridDim (::cn::g_grid_dim)
#define __syncthreads() ::cn::syncthreads()

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static __attribute__((section("cn_shared"), aligned(16)))

// Kernels have internal linkage in the emulator: each kernel file is its own translation unit, and its
// generated registration refers to the kernels by name.
#define CN_KERNEL static void
#define CN_DEVICE static inline
#define GPTR(T) ::cn::gptr<T>
#define GPTR_UNIQUE(T) ::cn::gptr<T>

#define CN_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// The GPU's approximate primitives, modelled at their documented worst case (CUDA C Programming Guide, "Intrinsic
// Functions", for exp2f/__log2f with -use_fast_math, which compile to these instructions):
//   ex2.approx.f32: at most 2 ulp;  lg2.approx.f32: at most 2^-22 absolute for x in [0.5, 2], else 2 ulp.
// The exact value (in double) is pushed by that maximum, up or down by a hash of the input bits (so the error is
// deterministic but not systematically one-sided), then rounded to float. Results the hardware gets exactly (2^k for
// an integer k, lg2 of a power of two) and non-finite ones are exact. sqrt.rn and rcp.rn are correctly rounded, as here.
namespace cn
{
inline double approx_sign(float x)
{
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return ((bits * 0x9E3779B1u) >> 31) != 0 ? 1.0 : -1.0;
}
}  // namespace cn

CN_DEVICE float cn_ex2(float x)
{
    const double exact = std::exp2((double)x);
    if (!std::isfinite(exact) || exact == 0.0 || x == std::nearbyint(x)) return (float)exact;
    return (float)(exact * (1.0 + ::cn::approx_sign(x) * 0x1p-22));
}
CN_DEVICE float cn_lg2(float x)
{
    const double exact = std::log2((double)x);
    if (!std::isfinite(exact) || exact == std::nearbyint(exact)) return (float)exact;
    const double error = x >= 0.5f && x <= 2.0f ? 0x1p-22 : std::fabs(exact) * 0x1p-22;
    return (float)(exact + ::cn::approx_sign(x) * error);
}
CN_DEVICE float cn_sqrtf(float x) { return std::sqrt(x); }
CN_DEVICE float cn_rcp(float x) { return 1.0f / x; }
