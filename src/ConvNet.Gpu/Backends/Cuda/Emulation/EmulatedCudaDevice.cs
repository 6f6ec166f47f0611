using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using ConvNet.Gpu.Backends.Cuda.Interop;

namespace ConvNet.Gpu.Backends.Cuda.Emulation;

/// <summary>
/// The emulated CUDA device: device memory is aligned host memory registered with the emulator's allocation
/// registry (so every kernel access is bounds-checked), copies are memcpy with range checks, kernels are the same
/// kernels/*.cu compiled for the host into libconvnet_cuda_emu.so and launched by name with the same
/// <see cref="KernelArgs"/> packing (count and C type of each argument checked against the kernel's signature),
/// warp collectives (shuffles, votes, __syncwarp, mma.sync) wait for every lane of their mask and fail the launch when
/// one never arrives or diverges, cp.async copies land only when waited for, and SGEMM is a CPU SGEMM with cuBLAS's
/// column-major semantics. Work runs synchronously in call order, so the
/// single-stream ordering of the real device holds trivially. New allocations are filled with 0xFF bytes (NaN),
/// so reading memory nobody wrote shows up in results. An optional memory limit makes out-of-memory testable.
/// Kernel faults (an out-of-bounds access, a divergent barrier) fail the launch; with <c>stickyErrors</c> they also
/// poison the device as they poison a real context: every later call that would do work throws a <see cref="CudaException"/>
/// quoting the first fault, while Free and Dispose keep releasing memory without throwing.
/// Pinned host memory, the copy stream, events and graph capture live in EmulatedCudaDevice.Pipeline.cs: with
/// synchronous work both streams are trivially ordered, and a capture records the calls it would have run.
/// </summary>
internal sealed unsafe partial class EmulatedCudaDevice : ICudaDevice
{
    /// <summary>Name reported by <see cref="Info"/>.</summary>
    public const string DeviceName = "CUDA (emulated)";

    private const int Alignment = 256; // cudaMalloc's alignment
    private const int ErrorBufferBytes = 4096;

    private readonly Lock _lock = new();
    private readonly SortedList<ulong, long> _allocations = new(); // base -> bytes
    private readonly ParallelOptions? _gemmParallelism;
    private readonly bool _stickyErrors;
    private long _bytesAllocated;
    private bool _disposed;
    private CudaException? _sticky;

    /// <summary>The compute capability the emulated device reports unless asked otherwise: 8.0, so the sm_80 kernels run.</summary>
    public const int DefaultComputeCapability = 80;

    private EmulatedCudaDevice(long memoryLimit, string library, int? gemmThreads, int computeCapability, bool stickyErrors)
    {
        MemoryLimitBytes = memoryLimit;
        _stickyErrors = stickyErrors;
        _gemmParallelism = gemmThreads is 1 ? null : new ParallelOptions { MaxDegreeOfParallelism = gemmThreads ?? Environment.ProcessorCount };
        Info = new CudaDeviceInfo(0, DeviceName, computeCapability / 10, computeCapability % 10, memoryLimit, 1, DriverVersion: 0,
            CublasVersion: 0, [library], IsEmulated: true) { PtxTarget = computeCapability >= 80 ? 80 : 70 };
    }

    /// <inheritdoc/>
    public CudaDeviceInfo Info { get; }

    /// <inheritdoc/>
    public bool IsEmulated => true;

    /// <inheritdoc/>
    public CudaException? StickyError => _sticky;

    /// <summary>Total "device" memory: allocations beyond it throw <see cref="CudaOutOfMemoryException"/>.</summary>
    public long MemoryLimitBytes { get; }

    /// <inheritdoc/>
    public bool AllowTf32 { get; set; } // recorded only: the emulated SGEMM is always full FP32

    /// <summary>Why the emulator cannot be used here, or null when it can.</summary>
    public static string? UnavailableReason()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return $"the emulated CUDA device is built for Linux x64 only (this is {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture})";
        if (!System.Runtime.Intrinsics.X86.Fma.IsSupported)
            return "the emulated CUDA device contracts a*b + c into fused multiply-adds as GPU compilers do, and this CPU has no FMA "
                   + "instructions (x86-64 with FMA: Intel Haswell, AMD Piledriver or newer)";
        var library = NativeLibraries.Load(NativeLibraries.Emulator);
        if (!library.Loaded)
            return $"{library.Describe(NativeLibraries.EmulatorFileName)}; `dotnet build` produces it on Linux x64 when g++ or clang++ is installed";
        int abi = EmulatorNative.cn_emu_abi_version();
        if (abi != EmulatorNative.ExpectedAbiVersion)
            return $"{library.Path} has ABI version {abi}, expected {EmulatorNative.ExpectedAbiVersion}: rebuild";
        return null;
    }

    /// <summary>
    /// Opens the emulated device. <paramref name="memoryLimitBytes"/> caps the memory it hands out (default: the
    /// memory available to this process); <paramref name="gemmThreads"/> sets SGEMM's parallelism (default: all cores);
    /// <paramref name="computeCapability"/> (10 * major + minor, at least 70) is what it reports, which decides the
    /// kernels CudaBackend may use: 80 and above run the sm_80 kernels (mma.sync, cp.async), 70-79 only the sm_70 ones;
    /// <paramref name="stickyErrors"/> makes kernel faults poison the device as on a GPU (default: the device stays usable).
    /// Throws <see cref="CudaUnavailableException"/> when the emulator library is missing.
    /// </summary>
    public static EmulatedCudaDevice Open(long? memoryLimitBytes = null, int? gemmThreads = null,
        int computeCapability = DefaultComputeCapability, bool stickyErrors = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(computeCapability, 70);
        string? reason = UnavailableReason();
        if (reason is not null) throw new CudaUnavailableException(reason);
        long limit = memoryLimitBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit, nameof(memoryLimitBytes));
        return new EmulatedCudaDevice(limit, NativeLibraries.Load(NativeLibraries.Emulator).Path!, gemmThreads, computeCapability, stickyErrors);
    }

    /// <summary>Names of every kernel the emulator library registers.</summary>
    public static IReadOnlyList<string> KernelNames()
    {
        int count = EmulatorNative.cn_emu_kernel_count();
        var names = new List<string>(count);
        for (int i = 0; i < count; i++) names.Add(Marshal.PtrToStringUTF8((nint)EmulatorNative.cn_emu_kernel_name(i)) ?? "?");
        return names;
    }

    // ------------------------------------------------------------------------------------------- memory

    /// <inheritdoc/>
    public ulong Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        RefuseDuringCapture("cuMemAlloc_v2");
        lock (_lock)
        {
            ThrowIfDisposed();
            long free = MemoryLimitBytes - _bytesAllocated;
            if (bytes > free)
                throw new CudaOutOfMemoryException("cuMemAlloc_v2", CuResult.OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", bytes, free, MemoryLimitBytes);
            void* memory;
            try
            {
                memory = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
            }
            catch (OutOfMemoryException)
            {
                throw new CudaOutOfMemoryException("cuMemAlloc_v2", CuResult.OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", bytes, 0, MemoryLimitBytes);
            }
            NativeMemory.Fill(memory, (nuint)bytes, 0xFF); // uninitialized device memory reads as NaN / -1
            ulong pointer = (ulong)memory;
            if (EmulatorNative.cn_emu_register_alloc(pointer, (ulong)bytes) != 0)
            {
                NativeMemory.AlignedFree(memory);
                throw new CudaException("cuMemAlloc_v2", null, CuResult.Unknown, "CUDA_ERROR_UNKNOWN", "emulator registry conflict",
                    $"0x{pointer:X} is already registered with the emulator.");
            }
            _allocations.Add(pointer, bytes);
            _bytesAllocated += bytes;
            return pointer;
        }
    }

    /// <inheritdoc/>
    public void Free(ulong pointer)
    {
        if (pointer == 0) return;
        RefuseDuringCapture("cuMemFree_v2");
        lock (_lock)
        {
            if (_disposed && _sticky is not null) return; // the poisoned device's teardown freed everything
            ObjectDisposedException.ThrowIf(_disposed, this); // after a sticky error memory is still released, never refused
            if (!_allocations.Remove(pointer, out long bytes))
                throw Invalid("cuMemFree_v2", $"0x{pointer:X} is not the start of a live allocation of this device (double free?).");
            EmulatorNative.cn_emu_unregister_alloc(pointer);
            _bytesAllocated -= bytes;
            NativeMemory.AlignedFree((void*)pointer);
        }
    }

    /// <inheritdoc/>
    public (long Free, long Total) MemoryInfo()
    {
        lock (_lock) return (MemoryLimitBytes - _bytesAllocated, MemoryLimitBytes);
    }

    /// <summary>Bytes currently allocated.</summary>
    public long BytesAllocated
    {
        get { lock (_lock) return _bytesAllocated; }
    }

    /// <inheritdoc/>
    public void MemsetD32Async(ulong pointer, uint value, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        CheckRange("cuMemsetD32Async", pointer, count * 4);
        if (Record(() => MemsetD32Async(pointer, value, count))) return;
        new Span<uint>((void*)pointer, checked((int)count)).Fill(value);
    }

    /// <inheritdoc/>
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        RefuseDuringCapture("cuMemcpyHtoD_v2");
        CheckRange("cuMemcpyHtoD_v2", destination, source.Length);
        source.CopyTo(new Span<byte>((void*)destination, source.Length));
    }

    /// <inheritdoc/>
    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        if (destination.IsEmpty) return;
        RefuseDuringCapture("cuMemcpyDtoH_v2");
        CheckRange("cuMemcpyDtoH_v2", source, destination.Length);
        new ReadOnlySpan<byte>((void*)source, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc/>
    public void CopyDeviceToDeviceAsync(ulong destination, ulong source, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        CheckRange("cuMemcpyDtoDAsync_v2", source, bytes);
        CheckRange("cuMemcpyDtoDAsync_v2", destination, bytes);
        if (Record(() => CopyDeviceToDeviceAsync(destination, source, bytes))) return;
        Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes); // memmove semantics
    }

    // ------------------------------------------------------------------------------------------- kernels

    /// <inheritdoc/>
    public CudaKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        int parameters = EmulatorNative.cn_emu_kernel_exists(name);
        if (parameters < 0)
            throw new CudaException("cuModuleGetFunction", name, CuResult.NotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found",
                $"The emulator library has no kernel '{name}' ({EmulatorNative.cn_emu_kernel_count()} kernels registered).");
        return new CudaKernel(name, parameters, this);
    }

    /// <inheritdoc/>
    public void Launch(CudaKernel kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes, in KernelArgs args)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (!ReferenceEquals(kernel.Owner, this))
            throw new ArgumentException($"Kernel '{kernel.Name}' belongs to another device.", nameof(kernel));
        ThrowIfDisposed();
        LaunchChecks.Validate(kernel.Name, grid, block, sharedMemoryBytes);
        var recorded = args;
        if (Record(() => Launch(kernel, grid, block, sharedMemoryBytes, recorded))) return;
        ulong* slots = stackalloc ulong[KernelArgs.MaxArguments];
        byte* kinds = stackalloc byte[KernelArgs.MaxArguments];
        byte* error = stackalloc byte[ErrorBufferBytes];
        error[0] = 0;
        args.CopyTo(slots, kinds);
        int nameLength = Encoding.UTF8.GetByteCount(kernel.Name);
        byte* name = stackalloc byte[nameLength + 1];
        Encoding.UTF8.GetBytes(kernel.Name, new Span<byte>(name, nameLength));
        name[nameLength] = 0;
        int status = EmulatorNative.cn_emu_launch(name, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)block.X, (uint)block.Y,
            (uint)block.Z, sharedMemoryBytes, slots, kinds, args.Count, error, ErrorBufferBytes);
        if (status == EmulatorNative.StatusOk) return;
        string report = Marshal.PtrToStringUTF8((nint)error) ?? "";
        var failure = status switch
        {
            EmulatorNative.StatusBadAccess => new CudaException("cuLaunchKernel", kernel.Name, CuResult.IllegalAddress,
                "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered", report),
            EmulatorNative.StatusArgumentMismatch or EmulatorNative.StatusInvalidLaunch => new CudaException("cuLaunchKernel",
                kernel.Name, CuResult.InvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument", report),
            EmulatorNative.StatusNotFound => new CudaException("cuLaunchKernel", kernel.Name, CuResult.NotFound,
                "CUDA_ERROR_NOT_FOUND", "named symbol not found", report),
            EmulatorNative.StatusBarrier => new CudaException("cuLaunchKernel", kernel.Name, CuResult.LaunchFailed,
                "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure (divergent __syncthreads)", report),
            EmulatorNative.StatusWarp => new CudaException("cuLaunchKernel", kernel.Name, CuResult.LaunchFailed,
                "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure (warp collective: a lane missing or diverged)", report),
            _ => new CudaException("cuLaunchKernel", kernel.Name, CuResult.Unknown, "CUDA_ERROR_UNKNOWN", "emulator failure", report),
        };
        if (_stickyErrors && CuResult.IsSticky(failure.Code)) _sticky ??= failure;
        throw failure;
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        ThrowIfDisposed(); // every call already ran to completion
        RefuseDuringCapture("cuStreamSynchronize");
    }

    // ------------------------------------------------------------------------------------------- cuBLAS

    /// <inheritdoc/>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb,
        float beta, ulong c, int ldc) =>
        SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, "cublasSgemm_v2");

    /// <inheritdoc/>
    public void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
        SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount,
            "cublasSgemmStridedBatched");

    private void SgemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount, string call)
    {
        ThrowIfDisposed();
        // cuBLAS's own argument checks (CUBLAS_STATUS_INVALID_VALUE), column-major: op(A) is m x k, op(B) k x n, C m x n.
        int rowsA = transA ? k : m, colsA = transA ? m : k, rowsB = transB ? n : k, colsB = transB ? k : n;
        if (m < 0 || n < 0 || k < 0 || batchCount < 0 || lda < Math.Max(1, rowsA) || ldb < Math.Max(1, rowsB) || ldc < Math.Max(1, m))
            throw new CudaException(call, null, 7, "CUBLAS_STATUS_INVALID_VALUE", "an invalid value was used as an argument",
                $"m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc} batchCount={batchCount} transA={transA} transB={transB}.");
        if (m == 0 || n == 0 || batchCount == 0) return;
        for (int batch = 0; batch < batchCount; batch++)
        {
            ulong ab = a + (ulong)(batch * strideA * 4), bb = b + (ulong)(batch * strideB * 4), cb = c + (ulong)(batch * strideC * 4);
            if (k > 0 && alpha != 0f)
            {
                CheckRange(call, ab, ((long)(colsA - 1) * lda + rowsA) * 4);
                CheckRange(call, bb, ((long)(colsB - 1) * ldb + rowsB) * 4);
            }
            CheckRange(call, cb, ((long)(n - 1) * ldc + m) * 4);
        }
        if (Record(() => SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC,
                batchCount, call)))
            return;
        for (int batch = 0; batch < batchCount; batch++)
        {
            ulong ab = a + (ulong)(batch * strideA * 4), bb = b + (ulong)(batch * strideB * 4), cb = c + (ulong)(batch * strideC * 4);
            EmulatedBlas.ColumnMajorSgemm(transA, transB, m, n, k, alpha, (float*)ab, lda, (float*)bb, ldb, beta, (float*)cb, ldc,
                _gemmParallelism);
        }
    }

    // ------------------------------------------------------------------------------------------- lifetime

    /// <summary>Frees every allocation still live (the device owns its memory, as a context does).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (pointer, _) in _allocations)
            {
                EmulatorNative.cn_emu_unregister_alloc(pointer);
                NativeMemory.AlignedFree((void*)pointer);
            }
            _allocations.Clear();
            _bytesAllocated = 0;
            FreeAllPinned();
            _capture = null;
        }
    }

    /// <summary>Throws CUDA_ERROR_INVALID_VALUE naming <paramref name="call"/> unless [pointer, pointer + bytes) lies in one live allocation.</summary>
    private void CheckRange(string call, ulong pointer, long bytes)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            var keys = _allocations.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (keys[mid] <= pointer) { found = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            if (found >= 0)
            {
                ulong start = keys[found];
                long size = _allocations.Values[found];
                if (pointer + (ulong)bytes <= start + (ulong)size) return;
                throw Invalid(call, $"{bytes} bytes at 0x{pointer:X} (offset {pointer - start}) overrun the {size}-byte allocation at 0x{start:X}.");
            }
            throw Invalid(call, $"0x{pointer:X} is not inside any live allocation of this device (freed, or never allocated).");
        }
    }

    private static CudaException Invalid(string call, string detail) =>
        new(call, null, CuResult.InvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument", detail);

    /// <summary>Refuses work after disposal, and after a sticky error (quoting it).</summary>
    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sticky is not null) throw CudaException.Refusing(_sticky);
    }
}
