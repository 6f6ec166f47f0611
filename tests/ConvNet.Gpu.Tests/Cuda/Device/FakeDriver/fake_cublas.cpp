// fake_cublas.cpp: a stand-in libcublas.so.N (column-major SGEMM on host memory) for build/test-driver-path.sh, built
// once per major: -DFAKE_CUBLAS_MAJOR=13 reports cuBLAS 13.1.0, =12 reports 12.8.4 (default 13).
// A GEMM is queued through the stand-in libcuda's fake_cuda_enqueue, so it runs at once or, while the handle's stream
// is being captured, becomes a node of the graph.
// Test seams: fake_cublas_fail_next_create(status) makes the next cublasCreate_v2 return that status (as a real cuBLAS
// does on a driver too old for it), and fake_cublas_live_handles() counts handles not yet destroyed.
// Test tool only, never shipped.
#include <atomic>
#include <cstdint>

#ifndef FAKE_CUBLAS_MAJOR
#define FAKE_CUBLAS_MAJOR 13
#endif
#define FAKE_CUBLAS_MINOR (FAKE_CUBLAS_MAJOR == 13 ? 1 : 8)
#define FAKE_CUBLAS_PATCH (FAKE_CUBLAS_MAJOR == 13 ? 0 : 4)

#define API extern "C" __attribute__((visibility("default")))

extern "C" int fake_cuda_enqueue(void* stream, int (*run)(void*), void* data, void (*release)(void*));

namespace
{
std::atomic<int> g_fail_next_create{0};
std::atomic<int> g_handles{0};

struct handle_t
{
    void* stream = nullptr;
};

struct gemm_t
{
    int ta, tb, m, n, k;
    float alpha, beta;
    const float *a, *b;
    float* c;
    int lda, ldb, ldc;
    long long sa, sb, sc;
    int batches;
};

int run_gemm(void* data)
{
    const gemm_t& g = *static_cast<const gemm_t*>(data);
    for (int q = 0; q < g.batches; q++)
        for (int j = 0; j < g.n; j++)
            for (int i = 0; i < g.m; i++)
            {
                double sum = 0;
                for (int p = 0; p < g.k; p++)
                    sum += (double)(g.ta ? g.a[q * g.sa + p + (long long)i * g.lda] : g.a[q * g.sa + i + (long long)p * g.lda]) *
                           (g.tb ? g.b[q * g.sb + j + (long long)p * g.ldb] : g.b[q * g.sb + p + (long long)j * g.ldb]);
                float& out = g.c[q * g.sc + i + (long long)j * g.ldc];
                out = (float)(g.alpha * sum + (g.beta == 0.0f ? 0.0 : (double)g.beta * out));
            }
    return 0;
}

void release_gemm(void* data) { delete static_cast<gemm_t*>(data); }
}  // namespace

API void fake_cublas_fail_next_create(int status) { g_fail_next_create = status; }
API int fake_cublas_live_handles() { return g_handles; }

API int cublasCreate_v2(void** h)
{
    int fail = g_fail_next_create.exchange(0);
    if (fail != 0) return fail;
    g_handles++;
    *h = new handle_t();
    return 0;
}
API int cublasDestroy_v2(void* h)
{
    g_handles--;
    delete static_cast<handle_t*>(h);
    return 0;
}
API int cublasSetStream_v2(void* h, void* stream)
{
    static_cast<handle_t*>(h)->stream = stream;
    return 0;
}
API int cublasSetWorkspace_v2(void*, void* workspace, unsigned long bytes) { return workspace && bytes ? 0 : 7; }
API int cublasSetMathMode(void*, int mode) { return mode == 0 || mode == 3 ? 0 : 7; }
API int cublasGetVersion_v2(void*, int* v)
{
    *v = FAKE_CUBLAS_MAJOR * 10000 + FAKE_CUBLAS_MINOR * 100 + FAKE_CUBLAS_PATCH;
    return 0;
}
API int cublasGetProperty(int type, int* v)
{
    *v = type == 0 ? FAKE_CUBLAS_MAJOR : type == 1 ? FAKE_CUBLAS_MINOR : FAKE_CUBLAS_PATCH;
    return type >= 0 && type <= 2 ? 0 : 7;
}
API const char* cublasGetStatusString(int s)
{
    return s == 7 ? "fake: invalid value" : s == 1 ? "fake: the library was not initialized" : "fake status";
}

API int cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                                  long long sa, const float* b, int ldb, long long sb, const float* beta, float* c,
                                  int ldc, long long sc, int batches)
{
    if (m < 0 || n < 0 || k < 0 || lda < 1 || ldb < 1 || ldc < (m > 1 ? m : 1)) return 7;
    // alpha and beta are host pointers read at call time (CUBLAS_POINTER_MODE_HOST), so the recorded node keeps their values.
    auto* g = new gemm_t{ta, tb, m, n, k, *alpha, *beta, a, b, c, lda, ldb, ldc, sa, sb, sc, batches};
    return fake_cuda_enqueue(static_cast<handle_t*>(h)->stream, &run_gemm, g, &release_gemm);
}

API int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                       const float* b, int ldb, const float* beta, float* c, int ldc)
{
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}
