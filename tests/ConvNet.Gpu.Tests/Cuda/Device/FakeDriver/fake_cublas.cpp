// fake_cublas.cpp: a stand-in libcublas.so.13 (column-major SGEMM on host memory) for build/test-driver-path.sh.
// Test tool only, never shipped.
#include <cstdint>

#define API extern "C" __attribute__((visibility("default")))

API int cublasCreate_v2(void** h) { *h = reinterpret_cast<void*>(0x3); return 0; }
API int cublasDestroy_v2(void*) { return 0; }
API int cublasSetStream_v2(void*, void*) { return 0; }
API int cublasSetMathMode(void*, int mode) { return mode == 0 || mode == 3 ? 0 : 7; }
API int cublasGetVersion_v2(void*, int* v) { *v = 130000; return 0; }
API int cublasGetProperty(int type, int* v) { *v = type == 0 ? 13 : 0; return 0; }
API const char* cublasGetStatusString(int s) { return s == 7 ? "fake: invalid value" : "fake status"; }

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
