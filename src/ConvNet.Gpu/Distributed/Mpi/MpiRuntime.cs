using System.Runtime.InteropServices;
using System.Text;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Distributed.Mpi;

/// <summary>
/// The process's MPI library: loaded and initialized once (MPI allows one MPI_Init per process), with
/// MPI_COMM_WORLD set to return errors rather than abort, so that every failing call becomes an
/// <see cref="MpiException"/> naming it. MPI is initialized MPI_THREAD_SERIALIZED: any thread may call, one at a
/// time (<see cref="Gate"/> serializes our calls).
/// </summary>
internal sealed class MpiRuntime
{
    private static readonly Lock InitGate = new();
    private static MpiRuntime? _instance;

    private MpiRuntime(string libraryPath, nint world, nint floatType, nint byteType, int rank, int size, string version)
    {
        LibraryPath = libraryPath;
        World = world;
        FloatType = floatType;
        ByteType = byteType;
        Rank = rank;
        Size = size;
        Version = version;
    }

    /// <summary>Serializes every MPI call made through this runtime.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The file that loaded, e.g. "libmpi.so.40".</summary>
    public string LibraryPath { get; }

    /// <summary>MPI_COMM_WORLD (&amp;ompi_mpi_comm_world).</summary>
    public nint World { get; }

    /// <summary>MPI_FLOAT.</summary>
    public nint FloatType { get; }

    /// <summary>MPI_BYTE.</summary>
    public nint ByteType { get; }

    /// <summary>This process's rank in MPI_COMM_WORLD.</summary>
    public int Rank { get; }

    /// <summary>The size of MPI_COMM_WORLD.</summary>
    public int Size { get; }

    /// <summary>MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, ...".</summary>
    public string Version { get; }

    /// <summary>Set once MPI_Finalize or MPI_Abort ran.</summary>
    public bool Finalized { get; private set; }

    /// <summary>Why MPI cannot be loaded here, or null when libmpi loads and exports what we need.</summary>
    public static string? UnavailableReason()
    {
        var load = NativeLibraries.Load(NativeLibraries.Mpi);
        if (!load.Loaded)
            return $"{load.Describe("the MPI library")}; install Open MPI (apt-get install openmpi-bin libopenmpi-dev)";
        foreach (string symbol in new[] { "ompi_mpi_comm_world", "ompi_mpi_float", "ompi_mpi_byte", "ompi_mpi_errors_return" })
            if (!NativeLibrary.TryGetExport(load.Handle, symbol, out _))
                return $"{load.Path} does not export {symbol}: it is not Open MPI (these bindings use Open MPI's ABI)";
        return null;
    }

    /// <summary>Initializes MPI on first use (MPI_Init_thread) and returns the process's runtime.</summary>
    /// <exception cref="CollectivesUnavailableException">libmpi cannot be loaded or is not Open MPI.</exception>
    /// <exception cref="MpiException">An MPI call failed.</exception>
    public static MpiRuntime Initialize()
    {
        lock (InitGate)
        {
            if (_instance is not null)
            {
                if (_instance.Finalized) throw new CollectiveException("MPI was already finalized in this process; it cannot be initialized again.");
                return _instance;
            }
            string? reason = UnavailableReason();
            if (reason is not null) throw new CollectivesUnavailableException($"MPI unavailable, because {reason}.");
            var load = NativeLibraries.Load(NativeLibraries.Mpi);
            nint world = NativeLibrary.GetExport(load.Handle, "ompi_mpi_comm_world");
            nint errorsReturn = NativeLibrary.GetExport(load.Handle, "ompi_mpi_errors_return");

            Check(MpiNative.MPI_Initialized(out int initialized), "MPI_Initialized");
            if (initialized == 0)
            {
                Check(MpiNative.MPI_Init_thread(0, 0, MpiNative.ThreadSerialized, out int provided), "MPI_Init_thread");
                if (provided < MpiNative.ThreadSerialized)
                    throw new CollectivesUnavailableException(
                        $"MPI unavailable, because MPI_Init_thread provides thread level {provided}, below MPI_THREAD_SERIALIZED ({MpiNative.ThreadSerialized}).");
            }
            Check(MpiNative.MPI_Comm_set_errhandler(world, errorsReturn), "MPI_Comm_set_errhandler");
            Check(MpiNative.MPI_Comm_rank(world, out int rank), "MPI_Comm_rank");
            Check(MpiNative.MPI_Comm_size(world, out int size), "MPI_Comm_size");
            _instance = new MpiRuntime(load.Path!, world, NativeLibrary.GetExport(load.Handle, "ompi_mpi_float"),
                NativeLibrary.GetExport(load.Handle, "ompi_mpi_byte"), rank, size, LibraryVersion());
            return _instance;
        }
    }

    /// <summary>Throws <see cref="MpiException"/> naming <paramref name="call"/> when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public static void Check(int code, string call)
    {
        if (code != 0) throw new MpiException(call, code, ErrorString(code));
    }

    /// <summary>MPI_Error_string of <paramref name="code"/>, or "unknown error".</summary>
    public static unsafe string ErrorString(int code)
    {
        byte* text = stackalloc byte[MpiNative.MaxString];
        return MpiNative.MPI_Error_string(code, text, out int length) == 0 && length > 0
            ? Encoding.UTF8.GetString(text, Math.Min(length, MpiNative.MaxString))
            : "unknown error";
    }

    private static unsafe string LibraryVersion()
    {
        byte* text = stackalloc byte[4096];
        if (MpiNative.MPI_Get_library_version(text, out int length) != 0 || length <= 0) return "unknown MPI";
        string all = Encoding.UTF8.GetString(text, Math.Min(length, 4096));
        int comma = all.IndexOf(',', StringComparison.Ordinal);
        return (comma > 0 ? all[..comma] : all).Trim();
    }

    /// <summary>MPI_Finalize, once; call only when no request is outstanding (else it can block forever).</summary>
    public void Shutdown()
    {
        lock (Gate)
        {
            if (Finalized) return;
            Finalized = true;
            Check(MpiNative.MPI_Finalize(), "MPI_Finalize");
        }
    }

    /// <summary>
    /// MPI_Abort on MPI_COMM_WORLD: the launcher ends every rank and exits with <paramref name="exitCode"/>. Used after
    /// a collective failed, when MPI_Finalize could block on the half-done exchange. Does not return normally.
    /// </summary>
    public void Abort(int exitCode)
    {
        Finalized = true;
        // Its status is not checked: MPI_Abort does not return when it works, and when it fails we are already ending.
        MpiNative.MPI_Abort(World, exitCode);
    }
}
