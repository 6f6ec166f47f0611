// fake_cublas.cpp: a stand-in libcublas.so.N (column-major SGEMM on host memory) for build/test-driver-path.sh, built
// once per major: -DFAKE_CUBLAS_MAJOR=13 reports cuBLAS 13.1.0, =12 reports 12.8.4 (default 13).
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

namespace
{
std::atomic<int> g_fail_next_create{0};
std::atomic<int> g_handles{0};
}  // namespace

API void fake_cublas_fail_next_create(int status) { g_fail_next_create = status; }
API int fake_cublas_live_handles() { return g_handles; }

API int cublasCreate_v2(void** h)
{
    int fail = g_fail_next_create.exchange(0);
    if (fail != 0) return fail;
    g_handles++;
    *h = reinterpret_cast<void*>(0x3);
    return 0;
}
API int cublasDestroy_v2(void*) { g_handles--; return 0; }
API int cublasSetStream_v2(void*, void*) { return 0; }
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

API int cublasSgemmStridedBatched(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                                  long long sa, const float* b, int ldb, long long sb, const float* beta, float* c,
                                  int ldc, long long sc, int batches)
{
    if (m < 0 || n < 0 || k < 0 || lda < 1 || ldb < 1 || ldc < (m > 1 ? m : 1)) return 7;
    for (int q = 0; q < batches; q++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(ta ? a[q * sa + p + (long long)i * lda] : a[q * sa + i + (long long)p * lda]) *
                           (tb ? b[q * sb + j + (long long)p * ldb] : b[q * sb + p + (long long)j * ldb]);
                float& out = c[q * sc + i + (long long)j * ldc];
                out = (float)(*alpha * sum + (*beta == 0.0f ? 0.0 : (double)*beta * out));
            }
    return 0;
}

API int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                       const float* b, int ldb, const float* beta, float* c, int ldc)
{
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}
