using System.Text;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda.Driver;

/// <summary>
/// The real device: the CUDA driver API on the device's primary context, two non-blocking streams (compute for all
/// kernels, SGEMM and graphs; copy for overlapping uploads), the embedded PTX modules of the device's target loaded at
/// creation (sm_80 from compute capability 8.0 on, else sm_70; <see cref="CudaDeviceInfo.PtxTarget"/> says which), and a
/// cuBLAS handle bound to the compute stream with its own workspace (so captures never make cuBLAS allocate).
/// Pinned memory, asynchronous copies, events and graphs live in DriverCudaDevice.Pipeline.cs.
/// Every status is checked. Out of memory throws <see cref="CudaOutOfMemoryException"/> and leaves the device usable;
/// a sticky error (illegal address, launch failure) is reported once and every later call is refused with that cause.
/// </summary>
internal sealed unsafe partial class DriverCudaDevice : ICudaDevice
{
    private const int JitLogBytes = 16 * 1024;

    private readonly int _device;
    private readonly nint _context;
    private readonly nint _stream;
    private readonly nint _copyStream;
    private readonly nint _cublas;
    private readonly ulong _cublasWorkspace;
    private readonly List<nint> _modules = new();
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private CudaException? _sticky;
    private string? _lastKernel;
    private bool _allowTf32;
    private bool _disposed;

    [ThreadStatic] private static nint _currentContext;

    private DriverCudaDevice(int ordinal, int device, nint context, CudaDeviceInfo info)
    {
        _device = device;
        _context = context;
        Info = info;
        try
        {
            MakeCurrent();
            CudaCheck.Driver(CudaDriver.cuStreamCreate(out _stream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
            CudaCheck.Driver(CudaDriver.cuStreamCreate(out _copyStream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
            foreach (var ptx in EmbeddedPtx.LoadFor(info.PtxTarget)) _modules.Add(LoadModule(ptx, info.DriverVersion));
            // A cuBLAS that loads but cannot start (a driver too old for it, an unsupported GPU, no memory for its
            // workspace) makes CUDA unusable here, which Backend.Default() turns into the CPU with this reason.
            CublasInit(Cublas.cublasCreate_v2(out _cublas), "cublasCreate_v2", info);
            CublasInit(Cublas.cublasSetStream_v2(_cublas, _stream), "cublasSetStream_v2", info);
            // cublasSetStream resets the workspace, so this comes after it. NVIDIA's recommended sizes: 32 MiB on Hopper
            // and newer, 4 MiB before. An explicit workspace keeps graph captures from allocating inside cuBLAS.
            long workspaceBytes = info.ComputeCapabilityMajor >= 9 ? 32L << 20 : 4L << 20;
            CudaCheck.Driver(CudaDriver.cuMemAlloc_v2(out _cublasWorkspace, (nuint)workspaceBytes), "cuMemAlloc_v2");
            CublasInit(Cublas.cublasSetWorkspace_v2(_cublas, _cublasWorkspace, (nuint)workspaceBytes), "cublasSetWorkspace_v2", info);
            CublasInit(Cublas.cublasSetMathMode(_cublas, Cublas.DefaultMath), "cublasSetMathMode", info);
            if (Cublas.cublasGetVersion_v2(_cublas, out int version) == 0 && version > 0) Info = info with { CublasVersion = version };
        }
        catch
        {
            ReleaseNative();
            throw;
        }
        _ = ordinal;
    }

    /// <inheritdoc/>
    public CudaDeviceInfo Info { get; }

    /// <summary>
    /// The CUstream all work is queued on, made current with its context on the calling thread, for libraries that
    /// enqueue on our stream themselves (NCCL, in Distributed). The stream stays owned by this device.
    /// </summary>
    internal nint CurrentStream()
    {
        MakeCurrent();
        return _stream;
    }

    /// <inheritdoc/>
    public bool IsEmulated => false;

    /// <inheritdoc/>
    public CudaException? StickyError => _sticky;

    /// <summary>
    /// Opens device <paramref name="ordinal"/>. Environment problems (no libcuda, no device, index out of range,
    /// driver too old for the PTX, no cuBLAS this driver can run, a cuBLAS that fails to initialize) throw
    /// <see cref="CudaUnavailableException"/> with the reason.
    /// </summary>
    public static DriverCudaDevice Open(int ordinal)
    {
        string? reason = DriverProbe.InitializeDriver(out int driverVersion);
        if (reason is not null) throw new CudaUnavailableException(reason);
        CudaCheck.Driver(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        if (count == 0) throw new CudaUnavailableException("no CUDA device found (cuDeviceGetCount returned 0)");
        if (ordinal < 0 || ordinal >= count)
            throw new CudaUnavailableException($"device index {ordinal} is out of range: this machine has {count} CUDA device(s) (0..{count - 1})");
        // The PTX set this GPU runs (sm_80 from compute capability 8.0 on, else sm_70), checked against the driver.
        var info = DriverProbe.Describe(ordinal, driverVersion);
        reason = DriverProbe.CheckPtxAgainstDriver(info, driverVersion);
        if (reason is not null) throw new CudaUnavailableException(reason);
        var cublas = DriverProbe.LoadCublas(driverVersion, info.ComputeCapabilityMajor * 10 + info.ComputeCapabilityMinor);
        if (!cublas.Loaded) throw new CudaUnavailableException($"cuBLAS unusable: {cublas.Reason}");
        info = info.WithCublas(cublas);
        CudaCheck.Driver(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        CudaCheck.Driver(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        // The constructor owns the context reference from here: when it fails, it releases everything it took, the
        // reference included, exactly once (a second release would drop another user's reference to the shared
        // primary context and destroy it under them).
        return new DriverCudaDevice(ordinal, device, context, info with { LoadedLibraries = NativeLibraries.LoadedFiles() });
    }

    // ------------------------------------------------------------------------------------------- memory

    /// <inheritdoc/>
    public ulong Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Enter();
        int result = CudaDriver.cuMemAlloc_v2(out ulong pointer, (nuint)bytes);
        if (result == CuResult.OutOfMemory)
        {
            CudaDriver.cuMemGetInfo_v2(out nuint free, out nuint total);
            throw new CudaOutOfMemoryException("cuMemAlloc_v2", result, CudaCheck.ErrorName(result), bytes, (long)free, (long)total);
        }
        Check(result, "cuMemAlloc_v2");
        return pointer;
    }

    /// <inheritdoc/>
    public void Free(ulong pointer)
    {
        if (pointer == 0 || _sticky is not null) return; // a poisoned context frees its memory when it is destroyed
        Enter();
        Check(CudaDriver.cuMemFree_v2(pointer), "cuMemFree_v2");
    }

    /// <inheritdoc/>
    public (long Free, long Total) MemoryInfo()
    {
        Enter();
        Check(CudaDriver.cuMemGetInfo_v2(out nuint free, out nuint total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    /// <inheritdoc/>
    public void MemsetD32Async(ulong pointer, uint value, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        Enter();
        Check(CudaDriver.cuMemsetD32Async(pointer, value, (nuint)count, _stream), "cuMemsetD32Async");
    }

    /// <inheritdoc/>
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        Enter();
        // Queued on our stream (so it is ordered after earlier work), then awaited: the span must outlive the copy.
        fixed (byte* host = source)
        {
            Check(CudaDriver.cuMemcpyHtoDAsync_v2(destination, host, (nuint)source.Length, _stream), "cuMemcpyHtoDAsync_v2");
            Check(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
        }
    }

    /// <inheritdoc/>
    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        if (destination.IsEmpty) return;
        Enter();
        fixed (byte* host = destination)
        {
            Check(CudaDriver.cuMemcpyDtoHAsync_v2(host, source, (nuint)destination.Length, _stream), "cuMemcpyDtoHAsync_v2");
            Check(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
        }
    }

    /// <inheritdoc/>
    public void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        Enter();
        Check(CudaDriver.cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, _stream), "cuMemcpyDtoDAsync_v2");
    }

    // ------------------------------------------------------------------------------------------- kernels

    /// <inheritdoc/>
    public CudaKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_lock)
        {
            if (_kernels.TryGetValue(name, out var cached)) return cached;
        }
        Enter();
        byte[] utf8 = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = utf8)
        {
            foreach (nint module in _modules)
            {
                int result = CudaDriver.cuModuleGetFunction(out nint function, module, p);
                if (result == CuResult.NotFound) continue;
                Check(result, "cuModuleGetFunction", name);
                var kernel = new CudaKernel(name, function, this);
                lock (_lock) _kernels[name] = kernel;
                return kernel;
            }
        }
        throw new CudaException("cuModuleGetFunction", name, CuResult.NotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found",
            $"No embedded PTX module ({_modules.Count} loaded) defines kernel '{name}'.");
    }

    /// <inheritdoc/>
    public void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (!ReferenceEquals(kernel.Owner, this))
            throw new ArgumentException($"Kernel '{kernel.Name}' belongs to another device.", nameof(kernel));
        LaunchChecks.Validate(kernel.Name, grid, block, sharedMemoryBytes);
        Enter();
        int count = args.Count;
        ulong* slots = stackalloc ulong[KernelArgs.MaxArguments];
        byte* kinds = stackalloc byte[KernelArgs.MaxArguments];
        void** parameters = stackalloc void*[KernelArgs.MaxArguments];
        args.CopyTo(slots, kinds);
        for (int i = 0; i < count; i++) parameters[i] = slots + i; // 4-byte values sit at the start of their slot
        _lastKernel = kernel.Name;
        Check(CudaDriver.cuLaunchKernel(kernel.Handle, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)block.X, (uint)block.Y,
            (uint)block.Z, (uint)sharedMemoryBytes, _stream, parameters, null), "cuLaunchKernel", kernel.Name);
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        Enter();
        Check(CudaDriver.cuStreamSynchronize(_copyStream), "cuStreamSynchronize");
        Check(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
    }

    // ------------------------------------------------------------------------------------------- cuBLAS

    /// <inheritdoc/>
    public bool AllowTf32
    {
        get => _allowTf32;
        set
        {
            Enter();
            CudaCheck.Blas(Cublas.cublasSetMathMode(_cublas, value ? Cublas.Tf32TensorOpMath : Cublas.DefaultMath), "cublasSetMathMode");
            _allowTf32 = value;
        }
    }

    /// <inheritdoc/>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb,
        float beta, ulong c, int ldc)
    {
        Enter();
        CudaCheck.Blas(Cublas.cublasSgemm_v2(_cublas, transA ? Cublas.OpT : Cublas.OpN, transB ? Cublas.OpT : Cublas.OpN,
            m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "cublasSgemm_v2");
    }

    /// <inheritdoc/>
    public void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        Enter();
        CudaCheck.Blas(Cublas.cublasSgemmStridedBatched(_cublas, transA ? Cublas.OpT : Cublas.OpN, transB ? Cublas.OpT : Cublas.OpN,
            m, n, k, &alpha, a, lda, strideA, b, ldb, strideB, &beta, c, ldc, strideC, batchCount), "cublasSgemmStridedBatched");
    }

    // ------------------------------------------------------------------------------------------- lifetime

    /// <summary>
    /// Waits for queued work, then releases cuBLAS, the modules, the stream and the primary context (whose last release
    /// destroys the context and all its memory). Never throws: after a sticky error it skips the wait and still releases
    /// every handle; a sticky error that first surfaces in the wait is kept in <see cref="StickyError"/>.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_sticky is null && CudaDriver.cuCtxSetCurrent(_context) == CuResult.Success)
        {
            _currentContext = _context;
            if (_capturing && CudaDriver.cuStreamEndCapture(_stream, out nint abandoned) == CuResult.Success && abandoned != 0)
                CudaDriver.cuGraphDestroy(abandoned);
            int result = CudaDriver.cuStreamSynchronize(_copyStream);
            if (result == CuResult.Success) result = CudaDriver.cuStreamSynchronize(_stream);
            if (CuResult.IsSticky(result))
                _sticky = CudaCheck.DriverError(result, "cuStreamSynchronize", null,
                    "Found while disposing the device: the failing kernel ran after the last synchronization"
                    + (_lastKernel is null ? "." : $"; the most recent launch was kernel '{_lastKernel}'."));
        }
        ReleaseNative();
    }

    internal void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sticky is not null) throw CudaException.Refusing(_sticky);
        MakeCurrent();
    }

    /// <summary>Checks a CUresult; sticky errors poison the device so later calls fail with the original cause.</summary>
    internal void Check(int result, string call, string? kernel = null)
    {
        if (result == CuResult.Success) return;
        string? detail = null;
        if (CuResult.IsSticky(result) && kernel is null && _lastKernel is not null)
            detail = $"Kernel errors surface asynchronously; the most recent launch was kernel '{_lastKernel}' "
                     + "(run with CUDA_LAUNCH_BLOCKING=1 to pin the failing launch down).";
        var error = CudaCheck.DriverError(result, call, kernel, detail);
        if (CuResult.IsSticky(result)) _sticky ??= error;
        throw error;
    }

    private void MakeCurrent()
    {
        if (_currentContext == _context) return;
        CudaCheck.Driver(CudaDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        _currentContext = _context;
    }

    /// <summary>A failed cuBLAS set-up call: CUDA is unusable here (<see cref="CudaUnavailableException"/>), with the file and status.</summary>
    private static void CublasInit(int status, string call, CudaDeviceInfo info)
    {
        if (status == 0) return;
        var error = new CudaException(call, null, status, Cublas.StatusName(status), Cublas.StatusString(status));
        throw new CudaUnavailableException(
            $"cuBLAS {info.CublasLibrary} ({CublasSelection.FormatVersion(info.CublasVersion)}) failed to initialize: {call} returned "
            + $"{error.ErrorName} ({status}): {error.ErrorString}; driver CUDA {info.DriverVersionText}, compute capability {info.ComputeCapability}",
            error);
    }

    private nint LoadModule(EmbeddedPtx ptx, int driverVersion)
    {
        byte* log = stackalloc byte[JitLogBytes];
        log[0] = 0;
        int* options = stackalloc int[2] { CudaDriver.JitErrorLogBuffer, CudaDriver.JitErrorLogBufferSizeBytes };
        void** values = stackalloc void*[2] { log, (void*)(nint)JitLogBytes };
        int result;
        nint module;
        fixed (byte* image = ptx.Image) result = CudaDriver.cuModuleLoadDataEx(out module, image, 2, options, values);
        if (result == CuResult.Success) return module;
        string jitLog = Encoding.UTF8.GetString(log, new ReadOnlySpan<byte>(log, JitLogBytes).IndexOf((byte)0) is var n and >= 0 ? n : JitLogBytes);
        string detail = $"Module {ptx.ResourceName} (PTX ISA {ptx.Isa}); JIT log: {(jitLog.Length == 0 ? "(empty)" : jitLog)}";
        if (result is CuResult.UnsupportedPtxVersion)
            throw new CudaUnavailableException(
                $"driver too old for the PTX: {ptx.ResourceName} is PTX ISA {ptx.Isa} and driver {CudaDeviceInfo.FormatCudaVersion(driverVersion)} "
                + "rejected it (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); update the NVIDIA driver",
                CudaCheck.DriverError(result, "cuModuleLoadDataEx", null, detail));
        throw CudaCheck.DriverError(result, "cuModuleLoadDataEx", null, detail);
    }

    private void ReleaseNative()
    {
        // Best effort: statuses are ignored while tearing down (a sticky error makes every call fail).
        CudaDriver.cuCtxSetCurrent(_context);
        _currentContext = _context;
        if (_cublas != 0) Cublas.cublasDestroy_v2(_cublas);
        if (_cublasWorkspace != 0) CudaDriver.cuMemFree_v2(_cublasWorkspace);
        foreach (nint module in _modules) CudaDriver.cuModuleUnload(module);
        _modules.Clear();
        if (_copyStream != 0) CudaDriver.cuStreamDestroy_v2(_copyStream);
        if (_stream != 0) CudaDriver.cuStreamDestroy_v2(_stream);
        CudaDriver.cuDevicePrimaryCtxRelease_v2(_device);
        _currentContext = 0;
    }
}
