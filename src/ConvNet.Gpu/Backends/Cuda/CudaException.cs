namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// A CUDA driver, cuBLAS or emulator call failed. The message names the call (and the kernel, for a launch),
/// the error's name and its description, e.g.
/// "cuLaunchKernel failed for kernel 'im2col_f32': CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered".
/// </summary>
public class CudaException : Exception
{
    /// <summary>Creates the exception from the failing call's details.</summary>
    /// <param name="call">The API call, e.g. "cuMemAlloc_v2".</param>
    /// <param name="kernel">The kernel name for launches, else null.</param>
    /// <param name="code">The numeric status (CUresult, cublasStatus_t, or an emulator code).</param>
    /// <param name="errorName">The status's symbolic name, e.g. "CUDA_ERROR_OUT_OF_MEMORY".</param>
    /// <param name="errorString">The status's description.</param>
    /// <param name="detail">Extra context (a JIT log, the emulator's report), appended to the message; may be null.</param>
    public CudaException(string call, string? kernel, int code, string errorName, string errorString, string? detail = null)
        : base(FormatMessage(call, kernel, code, errorName, errorString, detail))
    {
        Call = call;
        Kernel = kernel;
        Code = code;
        ErrorName = errorName;
        ErrorString = errorString;
        Detail = detail;
    }

    /// <summary>The API call that failed, e.g. "cuLaunchKernel" or "cublasSgemm_v2".</summary>
    public string Call { get; }

    /// <summary>The kernel being launched, or null when the call was not a launch.</summary>
    public string? Kernel { get; }

    /// <summary>The numeric status code.</summary>
    public int Code { get; }

    /// <summary>The status's symbolic name, e.g. "CUDA_ERROR_ILLEGAL_ADDRESS".</summary>
    public string ErrorName { get; }

    /// <summary>The status's human-readable description.</summary>
    public string ErrorString { get; }

    /// <summary>Extra context such as the PTX JIT log or the emulator's out-of-bounds report; null when none.</summary>
    public string? Detail { get; }

    /// <summary>
    /// The exception every call after a sticky error throws: the same call, kernel and code as <paramref name="first"/>,
    /// saying that the context refuses further work, with the first error's message.
    /// </summary>
    internal static CudaException Refusing(CudaException first) =>
        new(first.Call, first.Kernel, first.Code, first.ErrorName, first.ErrorString,
            "The CUDA context hit a fatal (sticky) error earlier and refuses further work; dispose this backend and "
            + $"restart the process. First error: {first.Message}");

    private static string FormatMessage(string call, string? kernel, int code, string errorName, string errorString, string? detail)
    {
        string where = kernel is null ? call : $"{call} for kernel '{kernel}'";
        string message = $"{where} failed: {errorName} ({code}): {errorString}";
        return string.IsNullOrWhiteSpace(detail) ? message : $"{message}\n{detail}";
    }
}

/// <summary>
/// A device allocation did not fit. The device stays usable: free memory (or let the pool trim its cache) and retry.
/// </summary>
public sealed class CudaOutOfMemoryException : CudaException
{
    /// <summary>Creates the exception for a failed allocation of <paramref name="requestedBytes"/>.</summary>
    public CudaOutOfMemoryException(string call, int code, string errorName, long requestedBytes, long freeBytes, long totalBytes)
        : base(call, null, code, errorName, "out of memory",
            $"Requested {requestedBytes:N0} bytes ({requestedBytes / 1048576.0:F1} MiB) with {freeBytes:N0} bytes "
            + $"({freeBytes / 1048576.0:F1} MiB) free of {totalBytes:N0} total.")
    {
        RequestedBytes = requestedBytes;
        FreeBytes = freeBytes;
        TotalBytes = totalBytes;
    }

    /// <summary>Bytes the failed allocation asked for.</summary>
    public long RequestedBytes { get; }

    /// <summary>Free device bytes at the time of the failure.</summary>
    public long FreeBytes { get; }

    /// <summary>Total device bytes.</summary>
    public long TotalBytes { get; }
}

/// <summary>
/// CUDA cannot be used here; <see cref="Reason"/> says exactly why (no libcuda, no device, index out of range,
/// driver too old for the PTX, cuBLAS missing, emulator library missing).
/// </summary>
public sealed class CudaUnavailableException : Exception
{
    /// <summary>Creates the exception with the reason CUDA is unavailable.</summary>
    public CudaUnavailableException(string reason, Exception? inner = null)
        : base($"CUDA is unavailable: {reason}", inner)
    {
        Reason = reason;
    }

    /// <summary>Why CUDA is unavailable, e.g. "libcuda.so.1 not found (tried libcuda.so.1, libcuda.so)".</summary>
    public string Reason { get; }
}
