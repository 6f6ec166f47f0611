using System.Diagnostics;
using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Distributed.Nccl;

/// <summary>
/// NCCL all-reduce of CUDA tensors in place, on the <see cref="CudaBackend"/>'s own stream, with device pointers
/// (no host copies). The communicator is bootstrapped through an <see cref="ICollectives"/> (rank 0 makes the
/// ncclUniqueId and broadcasts it over MPI) or, with a world of 1 collective and NCCL_COMM_ID=host:port set for every
/// rank, through NCCL's own TCP rendezvous (every rank derives the same id from that address).
/// </summary>
/// <remarks>
/// NCCL's result for a fixed world size, topology and NCCL version is the same on every run (its ring and tree
/// orders are fixed), but it is not the rank-ordered sum that <see cref="ICollectives"/> promises: it changes with
/// NCCL_ALGO/NCCL_PROTO and across NCCL versions. Queued work is not waited for: a hung peer shows up in
/// <see cref="Synchronize"/>, which polls ncclCommGetAsyncError and aborts the communicator at the deadline.
/// </remarks>
public sealed class NcclCommunicator : IDeviceCollectives, IDisposable
{
    private readonly CudaBackend _backend;
    private nint _comm;

    private NcclCommunicator(CudaBackend backend, nint comm, int rank, int worldSize, int version, TimeSpan timeout)
    {
        _backend = backend;
        _comm = comm;
        Rank = rank;
        WorldSize = worldSize;
        Version = version;
        Timeout = timeout;
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>NCCL's version code (e.g. 22703 for 2.27.3).</summary>
    public int Version { get; }

    /// <summary>How long <see cref="Synchronize"/> waits for the queued collectives.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>"NCCL 2.27.3 (libnccl.so.2), rank 0 of 2".</summary>
    public string Description =>
        $"NCCL {Version / 10000}.{Version / 100 % 100}.{Version % 100} ({NativeLibraries.Load(NativeLibraries.Nccl).Path}), rank {Rank} of {WorldSize}";

    /// <summary>
    /// Why NCCL cannot be used with <paramref name="backend"/> here ("libnccl.so.2 not found (tried ...)", "the backend is
    /// the emulated device", ...), or null when it can. Loads the library; initializes nothing.
    /// </summary>
    public static string? UnavailableReason(IBackend? backend = null)
    {
        if (!OperatingSystem.IsLinux()) return "NCCL runs on Linux only";
        var load = NativeLibraries.Load(NativeLibraries.Nccl);
        if (!load.Loaded) return $"{load.Describe("libnccl.so.2")}; it ships with PyTorch's CUDA wheels (nvidia-nccl) or NVIDIA's libnccl2 package";
        foreach (string symbol in new[] { "ncclGetUniqueId", "ncclCommInitRank", "ncclAllReduce", "ncclCommGetAsyncError" })
            if (!NativeLibrary.TryGetExport(load.Handle, symbol, out _)) return $"{load.Path} does not export {symbol}";
        try
        {
            Check(NcclNative.ncclGetVersion(out int version), "ncclGetVersion");
            if (version < 20400) return $"{load.Path} is NCCL {version}, older than 2.4 (no ncclCommGetAsyncError)";
        }
        catch (NcclException e)
        {
            return e.Message;
        }
        if (backend is null) return null;
        if (backend is not CudaBackend cuda) return $"the backend is {backend.Name}, not CUDA (NCCL reduces device memory)";
        if (cuda.NativeStream is null) return "the backend is the emulated CUDA device, which has no stream NCCL could use";
        return null;
    }

    /// <summary>
    /// Creates the communicator of <paramref name="bootstrap"/>'s ranks on <paramref name="backend"/>'s device. Rank 0's
    /// ncclUniqueId travels over <paramref name="bootstrap"/>; with a one-rank bootstrap and <paramref name="worldSize"/>
    /// greater than one, NCCL_COMM_ID must name the rendezvous address (NCCL's own TCP bootstrap).
    /// </summary>
    /// <exception cref="CollectivesUnavailableException">NCCL or a real CUDA device is missing; the message says which.</exception>
    /// <exception cref="NcclException">A NCCL call failed.</exception>
    public static NcclCommunicator Create(ICollectives bootstrap, CudaBackend backend, int? rank = null, int? worldSize = null)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        ArgumentNullException.ThrowIfNull(backend);
        string? reason = UnavailableReason(backend);
        if (reason is not null) throw new CollectivesUnavailableException($"NCCL unavailable, because {reason}.");
        int myRank = rank ?? bootstrap.Rank, size = worldSize ?? bootstrap.WorldSize;
        if (myRank < 0 || myRank >= size)
            throw new ConvNetArgumentException($"NCCL rank {myRank} is outside [0, {size}).", nameof(rank));

        NcclNative.UniqueId id;
        if (bootstrap.WorldSize == size)
        {
            var mine = new byte[NcclNative.UniqueIdBytes];
            if (bootstrap.Rank == 0)
            {
                Check(NcclNative.ncclGetUniqueId(out id), "ncclGetUniqueId");
                unsafe { new ReadOnlySpan<byte>(id.Bytes, NcclNative.UniqueIdBytes).CopyTo(mine); }
            }
            byte[] shared = bootstrap.Broadcast(mine, 0, "broadcast of the NCCL unique id");
            unsafe { fixed (byte* p = shared) id = *(NcclNative.UniqueId*)p; }
        }
        else if (bootstrap.WorldSize == 1 && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NCCL_COMM_ID")))
        {
            // NCCL parses NCCL_COMM_ID into the id, so every rank gets the same one; rank 0 hosts the rendezvous.
            Check(NcclNative.ncclGetUniqueId(out id), "ncclGetUniqueId (from NCCL_COMM_ID)");
        }
        else
        {
            throw new CollectivesUnavailableException(
                $"NCCL unavailable, because the bootstrap has {bootstrap.WorldSize} rank(s) for a world of {size}: launch with mpirun, " +
                "or set NCCL_COMM_ID=host:port on every rank for NCCL's own rendezvous.");
        }

        int version = 0;
        Check(NcclNative.ncclGetVersion(out version), "ncclGetVersion");
        _ = backend.NativeStream; // makes the backend's context current on this thread: NCCL uses the current device
        Check(NcclNative.ncclCommInitRank(out nint comm, size, id, myRank), $"ncclCommInitRank (rank {myRank} of {size})");
        return new NcclCommunicator(backend, comm, myRank, size, version, bootstrap.Timeout);
    }

    /// <summary>
    /// Queues an in-place sum of <paramref name="tensor"/> (float32, on this communicator's backend) over all ranks on
    /// the backend's stream; returns without waiting. Every rank must queue the same sequence of sizes.
    /// </summary>
    public void AllReduceSum(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_comm == 0, this);
        if (!ReferenceEquals(tensor.Backend, _backend))
            throw new ConvNetArgumentException($"NCCL all-reduce: the tensor lives on {tensor.Backend.Name}, not on this communicator's {_backend.Name}.", nameof(tensor));
        if (tensor.DataType != DataType.Float32)
            throw new ConvNetArgumentException($"NCCL all-reduce sums float32 tensors, got {tensor.DataType}.", nameof(tensor));
        nint stream = _backend.NativeStream ?? throw new InvalidOperationException("The backend has no native stream.");
        ulong pointer = CudaBackend.Ptr(tensor);
        Check(NcclNative.ncclAllReduce(pointer, pointer, (nuint)tensor.ElementCount, NcclNative.Float32, NcclNative.Sum, _comm, stream),
            $"ncclAllReduce ({tensor.ElementCount} floats)");
    }

    /// <summary>
    /// Waits for the queued collectives and the rest of the stream: polls the stream and ncclCommGetAsyncError until
    /// done, and at <see cref="Timeout"/> aborts the communicator and throws <see cref="CollectiveTimeoutException"/>
    /// (NCCL cannot say which peer is missing).
    /// </summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_comm == 0, this);
        var clock = Stopwatch.StartNew();
        nint stream = _backend.NativeStream ?? throw new InvalidOperationException("The backend has no native stream.");
        while (true)
        {
            int query = CudaDriver.cuStreamQuery(stream);
            if (query == CuResult.Success) return;
            if (query != CuResult.NotReady) CudaCheck.Driver(query, "cuStreamQuery (NCCL stream)");
            Check(NcclNative.ncclCommGetAsyncError(_comm, out int asyncError), "ncclCommGetAsyncError");
            Check(asyncError, "NCCL asynchronous error");
            if (clock.Elapsed > Timeout)
            {
                NcclNative.ncclCommAbort(_comm); // status unchecked: we are failing with the timeout either way
                _comm = 0;
                throw new CollectiveTimeoutException("NCCL all-reduce", Rank,
                    Enumerable.Range(0, WorldSize).Where(r => r != Rank).ToList(), Timeout);
            }
            Thread.Sleep(0);
        }
    }

    /// <summary>Destroys the communicator (ncclCommDestroy).</summary>
    public void Dispose()
    {
        if (_comm == 0) return;
        nint comm = _comm;
        _comm = 0;
        Check(NcclNative.ncclCommDestroy(comm), "ncclCommDestroy");
    }

    /// <summary>Throws <see cref="NcclException"/> naming <paramref name="call"/> for a status other than ncclSuccess.</summary>
    internal static void Check(int status, string call)
    {
        if (status == 0) return;
        string text;
        try
        {
            nint p = NcclNative.ncclGetErrorString(status);
            text = p == 0 ? "unknown error" : Marshal.PtrToStringUTF8(p) ?? "unknown error";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            text = "unknown error";
        }
        throw new NcclException(call, status, text);
    }
}
