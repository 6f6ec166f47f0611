using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>
/// LibraryImport declarations for the CUDA driver API calls we use (cuda.h, 64-bit: CUdeviceptr is ulong,
/// size_t is nuint, handles are nint). Every function returns a CUresult; wrap calls in <see cref="CudaCheck"/>.
/// </summary>
internal static unsafe partial class CudaDriver
{
    public const int AttributeMultiprocessorCount = 16;
    public const int AttributeComputeCapabilityMajor = 75;
    public const int AttributeComputeCapabilityMinor = 76;
    public const uint StreamNonBlocking = 1;
    public const uint EventDefault = 0;
    public const uint EventDisableTiming = 2;
    public const uint MemHostAllocDefault = 0;
    public const int StreamCaptureModeThreadLocal = 1;
    public const int JitInfoLogBuffer = 3;
    public const int JitInfoLogBufferSizeBytes = 4;
    public const int JitErrorLogBuffer = 5;
    public const int JitErrorLogBufferSizeBytes = 6;

    static CudaDriver() => NativeLibraries.EnsureResolver();

    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuInit(uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDriverGetVersion(out int version);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetCount(out int count);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceTotalMem_v2(out nuint bytes, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(NativeLibraries.Cuda)]
    public static partial int cuModuleLoadDataEx(out nint module, byte* image, uint optionCount, int* options, void** optionValues);

    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuModuleGetFunction(out nint function, nint module, byte* name);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuModuleUnload(nint module);

    [LibraryImport(NativeLibraries.Cuda)]
    public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY,
        uint blockZ, uint sharedMemoryBytes, nint stream, void** kernelParameters, void** extra);

    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemAlloc_v2(out ulong pointer, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemFree_v2(ulong pointer);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemGetInfo_v2(out nuint free, out nuint total);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamDestroy_v2(nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamSynchronize(nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamQuery(nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventCreate(out nint cudaEvent, uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventRecord(nint cudaEvent, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventSynchronize(nint cudaEvent);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventDestroy_v2(nint cudaEvent);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventQuery(nint cudaEvent);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamWaitEvent(nint stream, nint cudaEvent, uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemHostAlloc(out nint pointer, nuint bytes, uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuMemFreeHost(nint pointer);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamBeginCapture_v2(nint stream, int mode);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamEndCapture(nint stream, out nint graph);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGraphGetNodes(nint graph, nint* nodes, ref nuint count);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGraphLaunch(nint graphExec, nint stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGraphExecDestroy(nint graphExec);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGraphDestroy(nint graph);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGetErrorName(int error, out nint name);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGetErrorString(int error, out nint description);
}
