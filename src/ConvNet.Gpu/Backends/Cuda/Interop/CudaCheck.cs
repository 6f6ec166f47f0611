using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>Turns driver and cuBLAS statuses into <see cref="CudaException"/>s that name the call.</summary>
internal static class CudaCheck
{
    /// <summary>Throws <see cref="CudaException"/> for a CUresult other than success.</summary>
    public static void Driver(int result, string call, string? kernel = null, string? detail = null)
    {
        if (result != CuResult.Success) throw DriverError(result, call, kernel, detail);
    }

    /// <summary>Builds the exception for a failed CUresult, asking the driver for its name and string.</summary>
    public static CudaException DriverError(int result, string call, string? kernel = null, string? detail = null) =>
        new(call, kernel, result, ErrorName(result), ErrorString(result), detail);

    /// <summary>Throws <see cref="CudaException"/> for a cublasStatus_t other than success.</summary>
    public static void Blas(int status, string call)
    {
        if (status != 0) throw new CudaException(call, null, status, Cublas.StatusName(status), Cublas.StatusString(status));
    }

    /// <summary>cuGetErrorName, or a fallback when the driver cannot say.</summary>
    public static string ErrorName(int result)
    {
        try
        {
            if (CudaDriver.cuGetErrorName(result, out nint text) == CuResult.Success && text != 0)
                return Marshal.PtrToStringUTF8(text) ?? CuResult.FallbackName(result);
        }
        catch (DllNotFoundException)
        {
        }
        return CuResult.FallbackName(result);
    }

    /// <summary>cuGetErrorString, or a fallback when the driver cannot say.</summary>
    public static string ErrorString(int result)
    {
        try
        {
            if (CudaDriver.cuGetErrorString(result, out nint text) == CuResult.Success && text != 0)
                return Marshal.PtrToStringUTF8(text) ?? "unknown error";
        }
        catch (DllNotFoundException)
        {
        }
        return "unknown error";
    }
}
