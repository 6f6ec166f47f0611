using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Distributed.Nccl;

/// <summary>
/// The NCCL functions we use (libnccl.so.2, logical name <see cref="NativeLibraries.Nccl"/>). ncclComm_t and
/// cudaStream_t are pointers; buffers are device pointers. Every function returns ncclResult_t (0 = ncclSuccess).
/// </summary>
internal static partial class NcclNative
{
    /// <summary>ncclFloat32 in ncclDataType_t.</summary>
    public const int Float32 = 7;

    /// <summary>ncclSum in ncclRedOp_t.</summary>
    public const int Sum = 0;

    /// <summary>NCCL_UNIQUE_ID_BYTES.</summary>
    public const int UniqueIdBytes = 128;

    /// <summary>ncclUniqueId: 128 opaque bytes made by rank 0 and handed to every rank.</summary>
    [StructLayout(LayoutKind.Sequential, Size = UniqueIdBytes)]
    public unsafe struct UniqueId
    {
        public fixed byte Bytes[UniqueIdBytes];
    }

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclGetVersion(out int version);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclGetUniqueId(out UniqueId id);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommInitRank(out nint comm, int worldSize, UniqueId id, int rank);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclAllReduce(ulong sendBuffer, ulong receiveBuffer, nuint count, int dataType, int op, nint comm, nint stream);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommGetAsyncError(nint comm, out int asyncError);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommAbort(nint comm);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommDestroy(nint comm);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial nint ncclGetErrorString(int result);
}
