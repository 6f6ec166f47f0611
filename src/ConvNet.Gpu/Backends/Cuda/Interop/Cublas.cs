using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>LibraryImport declarations for the cuBLAS v2 calls we use. Every function returns a cublasStatus_t.</summary>
internal static unsafe partial class Cublas
{
    public const int OpN = 0;
    public const int OpT = 1;
    public const int DefaultMath = 0;
    public const int Tf32TensorOpMath = 3;

    static Cublas() => NativeLibraries.EnsureResolver();

    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasCreate_v2(out nint handle);
    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasDestroy_v2(nint handle);
    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasSetStream_v2(nint handle, nint stream);
    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasSetMathMode(nint handle, int mode);
    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasSetWorkspace_v2(nint handle, ulong workspace, nuint bytes);
    [LibraryImport(NativeLibraries.Cublas)] public static partial int cublasGetVersion_v2(nint handle, out int version);

    [LibraryImport(NativeLibraries.Cublas)]
    public static partial int cublasSgemm_v2(nint handle, int transA, int transB, int m, int n, int k, float* alpha,
        ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    [LibraryImport(NativeLibraries.Cublas)]
    public static partial int cublasSgemmStridedBatched(nint handle, int transA, int transB, int m, int n, int k, float* alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);

    /// <summary>The symbolic name of a cublasStatus_t.</summary>
    public static string StatusName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"cublasStatus {status}",
    };

    /// <summary>The description of a status: cublasGetStatusString when this cuBLAS exports it (11.4+), else a fixed text.</summary>
    public static string StatusString(int status)
    {
        var library = NativeLibraries.Load(NativeLibraries.Cublas);
        if (library.Loaded && NativeLibrary.TryGetExport(library.Handle, "cublasGetStatusString", out nint export))
        {
            var getString = (delegate* unmanaged<int, byte*>)export;
            byte* text = getString(status);
            if (text != null) return Marshal.PtrToStringUTF8((nint)text) ?? StatusName(status);
        }
        return status switch
        {
            1 => "the library was not initialized",
            3 => "resource allocation failed",
            7 => "an invalid value was used as an argument",
            8 => "the device architecture is not supported",
            13 => "the GPU program failed to execute",
            14 => "an internal operation failed",
            15 => "the functionality requested is not supported",
            _ => "unknown cuBLAS status",
        };
    }
}
