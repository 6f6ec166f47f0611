using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Distributed.Mpi;

/// <summary>
/// The few MPI functions we use, bound to Open MPI's libmpi.so.40 (logical name <see cref="NativeLibraries.Mpi"/>).
/// Open MPI's handles (MPI_Comm, MPI_Datatype, MPI_Errhandler, MPI_Request) are pointers: the predefined ones are
/// the addresses of global objects (MPI_COMM_WORLD is &amp;ompi_mpi_comm_world), which <see cref="MpiRuntime"/> looks
/// up with <see cref="NativeLibrary.GetExport"/>. Every function returns an MPI error code (0 = MPI_SUCCESS).
/// MPI.NET 1.4.0 cannot be used instead: it binds msmpi.dll and MS-MPI's integer handles, and segfaults against
/// Open MPI even when the library name is redirected (docs/distributed.md, "Why our own bindings").
/// </summary>
internal static partial class MpiNative
{
    /// <summary>MPI_THREAD_SERIALIZED in Open MPI's numbering (SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3).</summary>
    public const int ThreadSerialized = 2;

    /// <summary>MPI_MAX_ERROR_STRING and MPI_MAX_LIBRARY_VERSION_STRING are both at most this in Open MPI 4.</summary>
    public const int MaxString = 512;

    /// <summary>Open MPI's MPI_Status: MPI_SOURCE, MPI_TAG, MPI_ERROR, then two private fields.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Status
    {
        public int Source;
        public int Tag;
        public int Error;
        public int Cancelled;
        public nuint Count;
    }

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Initialized(out int flag);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Init_thread(nint argc, nint argv, int required, out int provided);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Finalize();

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Abort(nint comm, int errorCode);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Comm_rank(nint comm, out int rank);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Comm_size(nint comm, out int size);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Comm_set_errhandler(nint comm, nint errhandler);

    [LibraryImport(NativeLibraries.Mpi)]
    public static unsafe partial int MPI_Error_string(int code, byte* text, out int length);

    [LibraryImport(NativeLibraries.Mpi)]
    public static unsafe partial int MPI_Get_library_version(byte* text, out int length);

    [LibraryImport(NativeLibraries.Mpi)]
    public static unsafe partial int MPI_Isend(void* buffer, int count, nint datatype, int destination, int tag, nint comm, out nint request);

    [LibraryImport(NativeLibraries.Mpi)]
    public static unsafe partial int MPI_Irecv(void* buffer, int count, nint datatype, int source, int tag, nint comm, out nint request);

    [LibraryImport(NativeLibraries.Mpi)]
    public static partial int MPI_Test(ref nint request, out int flag, out Status status);
}
