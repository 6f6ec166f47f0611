// fake_cuda.cpp: a stand-in libcuda.so.1 for exercising DriverCudaDevice (our LibraryImport bindings, context,
// module loading, launches, OOM and sticky-error handling) on a machine without a GPU. It implements the driver
// API calls ConvNet.Gpu uses on host memory; kernel launches run the same kernels through the emulator library
// (libconvnet_cuda_emu.so), reading each parameter with the size the kernel's signature gives it.
// Like a real driver: a kernel fault is sticky (every later call on the context returns it) until the primary context's
// last reference is released, which destroys the context and its memory.
// Seams for tests: FAKE_CUDA_DRIVER_VERSION (what cuDriverGetVersion reports, default 13000), FAKE_CUDA_CC (the
// compute capability, default 80), FAKE_CUDA_MEMORY_BYTES (device memory), and fake_cuda_live("allocations" | "streams" | "modules" | "events" | "context_refs" | "sticky"),
// which tests call through the loaded library to see what is still held.
// Stream capture records the work queued on the capturing stream (launches with copies of their arguments, memsets,
// copies, and the stand-in cuBLAS's GEMMs through fake_cuda_enqueue) into a graph that cuGraphLaunch replays in order;
// allocation, freeing and blocking calls during a capture fail with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and
// invalidate it, as in the driver's thread-local capture mode. Work runs synchronously, so both streams are ordered.
// Test tool only: build and run it with build/test-driver-path.sh (and gpu-run.sh --rehearsal), never ship it.
#include <atomic>
#include <functional>
#include <memory>
#include <vector>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <string>

extern "C" {
int cn_emu_register_alloc(uint64_t, uint64_t);
int cn_emu_unregister_alloc(uint64_t);
int cn_emu_kernel_kinds(const char*, unsigned char*, int);
int cn_emu_launch(const char*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, int, const uint64_t*,
                  const unsigned char*, int, char*, int);
}

#define API extern "C" __attribute__((visibility("default")))

namespace
{
std::mutex g_mutex;
std::map<uint64_t, size_t> g_allocs;
size_t g_used = 0;
int g_sticky = 0;
std::map<uintptr_t, std::set<std::string>> g_modules;
uintptr_t g_next_module = 0x100;
int g_context_refs = 0;
int g_streams = 0;
int g_events = 0;

size_t limit_bytes()
{
    const char* env = std::getenv("FAKE_CUDA_MEMORY_BYTES");
    return env ? std::strtoull(env, nullptr, 10) : (size_t(1) << 30);
}

struct event_t
{
    double ms = -1;
};

double now_ms()
{
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// A recorded operation: returns a CUresult (0 on success).
using op_t = std::function<int()>;
struct graph_t
{
    std::vector<op_t> ops;
};

// Captures in progress, by stream. Thread-local capture mode: a thread's unsafe calls invalidate only its own captures.
struct capture_t
{
    graph_t* graph = nullptr;
    bool invalid = false;
    std::thread::id thread;
};
std::mutex g_capture_mutex;
std::map<void*, capture_t> g_captures;
std::atomic<uintptr_t> g_next_stream{0x2};

// Runs op now, or appends it to the capture when `stream` is being captured.
int enqueue(void* stream, op_t op)
{
    {
        std::lock_guard<std::mutex> lock(g_capture_mutex);
        auto it = g_captures.find(stream);
        if (it != g_captures.end())
        {
            it->second.graph->ops.push_back(std::move(op));
            return 0;
        }
    }
    return op();
}

// A call that is not allowed while this thread captures: fails and invalidates the thread's captures.
bool refuse_during_capture()
{
    std::lock_guard<std::mutex> lock(g_capture_mutex);
    bool refused = false;
    for (auto& [stream, capture] : g_captures)
        if (capture.thread == std::this_thread::get_id())
        {
            capture.invalid = true;
            refused = true;
        }
    return refused;
}

int run_ops(const std::vector<op_t>& ops)
{
    for (const op_t& op : ops)
    {
        int status = op();
        if (status) return status;
    }
    return 0;
}

}  // namespace

API int cuInit(unsigned) { return 0; }
API int cuDriverGetVersion(int* v)
{
    const char* env = std::getenv("FAKE_CUDA_DRIVER_VERSION");
    *v = env ? std::atoi(env) : 13000;
    return 0;
}
API int cuDeviceGetCount(int* c) { *c = 1; return 0; }
API int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
API int cuDeviceGetName(char* name, int len, int) { std::snprintf(name, len, "Fake CUDA driver (test)"); return 0; }
// Compute capability: FAKE_CUDA_CC (10 * major + minor, default 80, so the sm_80 PTX set is the one loaded).
API int cuDeviceGetAttribute(int* v, int attribute, int)
{
    const char* env = std::getenv("FAKE_CUDA_CC");
    int cc = env ? std::atoi(env) : 80;
    *v = attribute == 75 ? cc / 10 : attribute == 76 ? cc % 10 : attribute == 16 ? 4 : 0;  // 4 SMs
    return 0;
}
API int cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = limit_bytes(); return 0; }
API int cuDevicePrimaryCtxRetain(void** ctx, int)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    g_context_refs++;
    *ctx = reinterpret_cast<void*>(0x1);
    return 0;
}
API int cuDevicePrimaryCtxRelease_v2(int)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_context_refs == 0) return 201;  // CUDA_ERROR_INVALID_CONTEXT
    if (--g_context_refs == 0)
    {
        // The context is destroyed: its memory goes with it, and a new retain gets a fresh, unpoisoned context.
        for (auto& [pointer, bytes] : g_allocs)
        {
            cn_emu_unregister_alloc(pointer);
            std::free(reinterpret_cast<void*>(pointer));
        }
        g_allocs.clear();
        g_used = 0;
        g_sticky = 0;
    }
    return 0;
}
API int cuCtxSetCurrent(void*) { return 0; }

API int cuModuleLoadDataEx(void** module, const void* image, unsigned count, int* options, void** values)
{
    if (g_sticky) return g_sticky;
    const char* text = static_cast<const char*>(image);
    if (!std::strstr(text, ".version"))
    {
        for (unsigned i = 0; i < count; i++)
            if (options[i] == 5) std::snprintf(static_cast<char*>(values[i]), 64, "fake JIT: no .version directive");
        return 218;
    }
    std::lock_guard<std::mutex> lock(g_mutex);
    uintptr_t handle = g_next_module++;
    auto& names = g_modules[handle];
    for (const char* p = text; (p = std::strstr(p, ".entry ")); )
    {
        p += 7;
        const char* end = p;
        while (*end && *end != '(' && *end != ' ' && *end != '\n') end++;
        names.insert(std::string(p, end));
    }
    *module = reinterpret_cast<void*>(handle);
    return 0;
}

API int cuModuleGetFunction(void** function, void* module, const char* name)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    auto& names = g_modules[reinterpret_cast<uintptr_t>(module)];
    auto it = names.find(name);
    if (it == names.end()) return 500;
    *function = const_cast<std::string*>(&*it);  // set elements are stable
    return 0;
}

API int cuModuleUnload(void* module)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    g_modules.erase(reinterpret_cast<uintptr_t>(module));
    return 0;
}

API int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                       unsigned shared, void* stream, void** params, void**)
{
    if (g_sticky) return g_sticky;
    const std::string& name = *static_cast<const std::string*>(function);
    unsigned char kinds[32];
    int count = cn_emu_kernel_kinds(name.c_str(), kinds, 32);
    if (count < 0) return 500;
    std::vector<uint64_t> slots(32, 0);
    std::vector<unsigned char> kind_list(kinds, kinds + count);
    for (int i = 0; i < count; i++) std::memcpy(&slots[i], params[i], kinds[i] == 2 || kinds[i] == 3 ? 4 : 8);
    auto run = [name, gx, gy, gz, bx, by, bz, shared, slots, kind_list, count]() -> int {
        if (g_sticky) return g_sticky;
        char error[2048] = {};
        int status = cn_emu_launch(name.c_str(), gx, gy, gz, bx, by, bz, (int)shared, slots.data(), kind_list.data(), count, error,
                                   sizeof error);
        if (status == 1 || status == 3) return 1;  // invalid launch / arguments: CUDA_ERROR_INVALID_VALUE at launch time
        if (status != 0)
        {
            std::fprintf(stderr, "fake libcuda: %s\n", error);
            g_sticky = 700;  // like a real GPU: the illegal address is sticky and surfaces at the next sync
        }
        return 0;
    };
    return enqueue(stream, run);  // run now, or on every replay of the capture
}

API int cuMemAlloc_v2(uint64_t* pointer, size_t bytes)
{
    if (g_sticky) return g_sticky;
    if (refuse_during_capture()) return 900;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (bytes == 0) return 1;
    if (g_used + bytes > limit_bytes()) return 2;
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!p) return 2;
    *pointer = reinterpret_cast<uint64_t>(p);
    g_allocs[*pointer] = bytes;
    g_used += bytes;
    cn_emu_register_alloc(*pointer, bytes);
    return 0;
}

API int cuMemFree_v2(uint64_t pointer)
{
    if (refuse_during_capture()) return 900;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_sticky) return g_sticky;  // a poisoned context frees nothing until it is destroyed
    auto it = g_allocs.find(pointer);
    if (it == g_allocs.end()) return 1;
    g_used -= it->second;
    cn_emu_unregister_alloc(pointer);
    std::free(reinterpret_cast<void*>(pointer));
    g_allocs.erase(it);
    return 0;
}

API int cuMemGetInfo_v2(size_t* free_bytes, size_t* total)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    *total = limit_bytes();
    *free_bytes = *total - g_used;
    return 0;
}

API int cuMemsetD32Async(uint64_t d, unsigned v, size_t n, void* stream)
{
    if (g_sticky) return g_sticky;
    return enqueue(stream, [d, v, n]() -> int {
        auto* p = reinterpret_cast<unsigned*>(d);
        for (size_t i = 0; i < n; i++) p[i] = v;
        return g_sticky;
    });
}
API int cuMemcpyHtoD_v2(uint64_t d, const void* s, size_t n)
{
    if (refuse_during_capture()) return 900;
    std::memcpy((void*)d, s, n);
    return g_sticky;
}
API int cuMemcpyDtoH_v2(void* d, uint64_t s, size_t n)
{
    if (refuse_during_capture()) return 900;
    std::memcpy(d, (void*)s, n);
    return g_sticky;
}
API int cuMemcpyHtoDAsync_v2(uint64_t d, const void* s, size_t n, void* stream)
{
    if (g_sticky) return g_sticky;
    return enqueue(stream, [d, s, n]() -> int { std::memcpy((void*)d, s, n); return g_sticky; });
}
API int cuMemcpyDtoHAsync_v2(void* d, uint64_t s, size_t n, void* stream)
{
    if (g_sticky) return g_sticky;
    return enqueue(stream, [d, s, n]() -> int { std::memcpy(d, (void*)s, n); return g_sticky; });
}
API int cuMemcpyDtoDAsync_v2(uint64_t d, uint64_t s, size_t n, void* stream)
{
    if (g_sticky) return g_sticky;
    return enqueue(stream, [d, s, n]() -> int { std::memmove((void*)d, (void*)s, n); return g_sticky; });
}
API int cuMemHostAlloc(void** p, size_t bytes, unsigned)
{
    if (g_sticky) return g_sticky;
    if (refuse_during_capture()) return 900;
    *p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    return *p ? 0 : 2;
}
API int cuMemFreeHost(void* p)
{
    if (refuse_during_capture()) return 900;
    std::free(p);
    return 0;
}
API int cuStreamCreate(void** stream, unsigned)
{
    if (g_sticky) return g_sticky;
    g_streams++;
    *stream = reinterpret_cast<void*>(g_next_stream++);
    return 0;
}
API int cuStreamDestroy_v2(void*) { g_streams--; return 0; }
API int cuStreamSynchronize(void*)
{
    if (refuse_during_capture()) return 900;
    return g_sticky;
}
API int cuStreamWaitEvent(void*, void*, unsigned) { return g_sticky; }  // work is synchronous: nothing to wait for
API int cuEventCreate(void** e, unsigned) { if (g_sticky) return g_sticky; g_events++; *e = new event_t(); return 0; }
API int cuEventRecord(void* e, void* stream)
{
    return enqueue(stream, [e]() -> int { static_cast<event_t*>(e)->ms = now_ms(); return g_sticky; });
}
API int cuEventQuery(void*) { return g_sticky; }
API int cuEventSynchronize(void*)
{
    if (refuse_during_capture()) return 900;
    return g_sticky;
}
API int cuEventElapsedTime(float* ms, void* a, void* b)
{
    auto* s = static_cast<event_t*>(a);
    auto* e = static_cast<event_t*>(b);
    if (s->ms < 0 || e->ms < 0) return 400;
    *ms = (float)(e->ms - s->ms);
    return 0;
}
API int cuEventDestroy_v2(void* e) { g_events--; delete static_cast<event_t*>(e); return 0; }

// Test seam: how many of a kind of resource the process still holds ("sticky": the poisoning error, 0 when none).
API long long fake_cuda_live(const char* what)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    std::string w = what;
    if (w == "allocations") return (long long)g_allocs.size();
    if (w == "streams") return g_streams;
    if (w == "modules") return (long long)g_modules.size();
    if (w == "events") return g_events;
    if (w == "context_refs") return g_context_refs;
    if (w == "sticky") return g_sticky;
    return -1;
}

API int cuStreamBeginCapture_v2(void* stream, int)
{
    if (g_sticky) return g_sticky;
    std::lock_guard<std::mutex> lock(g_capture_mutex);
    if (g_captures.count(stream)) return 401;  // CUDA_ERROR_ILLEGAL_STATE
    g_captures[stream] = capture_t{new graph_t(), false, std::this_thread::get_id()};
    return 0;
}
API int cuStreamEndCapture(void* stream, void** graph)
{
    capture_t capture;
    {
        std::lock_guard<std::mutex> lock(g_capture_mutex);
        auto it = g_captures.find(stream);
        if (it == g_captures.end()) return 401;
        capture = it->second;
        g_captures.erase(it);
    }
    if (capture.invalid)
    {
        delete capture.graph;
        *graph = nullptr;
        return 901;  // CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
    }
    *graph = capture.graph;
    return 0;
}
API int cuGraphGetNodes(void* graph, void** nodes, size_t* count)
{
    auto* g = static_cast<graph_t*>(graph);
    if (nodes) return 1;  // only the count is supported
    *count = g->ops.size();
    return 0;
}
API int cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long)
{
    *exec = new graph_t(*static_cast<graph_t*>(graph));
    return 0;
}
API int cuGraphLaunch(void* exec, void* stream)
{
    if (g_sticky) return g_sticky;
    auto* g = static_cast<graph_t*>(exec);
    return enqueue(stream, [g]() -> int { run_ops(g->ops); return g_sticky; });
}
API int cuGraphExecDestroy(void* exec) { delete static_cast<graph_t*>(exec); return 0; }
API int cuGraphDestroy(void* graph) { delete static_cast<graph_t*>(graph); return 0; }

// For the stand-in cuBLAS: runs run(data) now, or records it when `stream` is being captured; release(data) frees the
// arguments when the last copy of the operation (the call, or the graphs holding it) goes away.
API int fake_cuda_enqueue(void* stream, int (*run)(void*), void* data, void (*release)(void*))
{
    std::shared_ptr<void> owned(data, release);
    return enqueue(stream, [run, owned]() -> int { return g_sticky ? g_sticky : run(owned.get()); });
}

API int cuGetErrorName(int code, const char** name)
{
    switch (code)
    {
        case 0: *name = "CUDA_SUCCESS"; return 0;
        case 1: *name = "CUDA_ERROR_INVALID_VALUE"; return 0;
        case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
        case 101: *name = "CUDA_ERROR_INVALID_DEVICE"; return 0;
        case 201: *name = "CUDA_ERROR_INVALID_CONTEXT"; return 0;
        case 218: *name = "CUDA_ERROR_INVALID_PTX"; return 0;
        case 400: *name = "CUDA_ERROR_INVALID_HANDLE"; return 0;
        case 401: *name = "CUDA_ERROR_ILLEGAL_STATE"; return 0;
        case 500: *name = "CUDA_ERROR_NOT_FOUND"; return 0;
        case 600: *name = "CUDA_ERROR_NOT_READY"; return 0;
        case 900: *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"; return 0;
        case 901: *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"; return 0;
        case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return 0;
        default: *name = nullptr; return 1;
    }
}

API int cuGetErrorString(int code, const char** text)
{
    switch (code)
    {
        case 2: *text = "out of memory"; return 0;
        case 700: *text = "an illegal memory access was encountered"; return 0;
        case 900: *text = "operation not permitted when stream is capturing"; return 0;
        case 901: *text = "operation failed due to a previous error during capture"; return 0;
        default: *text = "fake driver error"; return 0;
    }
}
