using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// The CUDA backend: our kernels (kernels/*.cu, compiled to PTX and embedded) plus cuBLAS SGEMM, driven through an
/// <see cref="ICudaDevice"/> (the real driver, or the emulated device that runs the same kernel source on the host).
/// All work is queued on the device's single stream in call order; ops never synchronize the host, only
/// <see cref="Synchronize"/> and downloads do. Tensor memory and convolution workspaces come from a caching
/// <see cref="CudaMemoryPool"/>. Backward passes are gathers and fixed-order reductions, so results are bit-reproducible.
/// The op families live in the partial files CudaBackend.*.cs, mirroring CpuBackend.
/// </summary>
public sealed partial class CudaBackend : BackendBase
{
    private readonly CountingCudaDevice _device;
    private readonly CudaMemoryPool _pool;
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);
    private readonly LaunchGeometry _launch;
    private PinnedStagingRing? _staging;
    private readonly Workspace[] _workspaces = new Workspace[5]; // slots: see the *Slot constants of the partial files

    /// <summary>
    /// Creates the backend on <paramref name="device"/>, which it owns from now on (disposing the backend disposes the
    /// device). Use <c>Backend.Cuda()</c> or <c>Backend.CudaEmulated()</c>.
    /// </summary>
    internal CudaBackend(ICudaDevice device, CudaBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _device = new CountingCudaDevice(device);
        Options = options;
        _device.AllowTf32 = options.AllowTf32;
        _pool = new CudaMemoryPool(_device, options.UseMemoryPool);
        _launch = new LaunchGeometry(options.BlockSize, options.MaxGridBlocks);
    }

    /// <summary>The device this backend drives, as it drives it (counted; for tests and diagnostics inside the library).</summary>
    internal ICudaDevice Device => _device;

    /// <summary>
    /// The real device's CUstream with its context made current on this thread, for NCCL; null on the emulated device
    /// (which has no stream a native library could use).
    /// </summary>
    internal nint? NativeStream => _device.Inner is Driver.DriverCudaDevice d ? d.CurrentStream() : null;

    /// <summary>The settings this backend was created with.</summary>
    public CudaBackendOptions Options { get; }

    /// <summary>Static facts about the device: name, compute capability, memory, driver and cuBLAS versions.</summary>
    public CudaDeviceInfo DeviceInfo => _device.Info;

    /// <summary>True when the kernels run on the emulated device (host-compiled, bounds-checked) rather than a GPU.</summary>
    public bool IsEmulated => _device.IsEmulated;

    /// <summary>
    /// The first fatal (sticky) error of the CUDA context, e.g. an illegal address, or null. After one every op throws a
    /// <see cref="CudaException"/> quoting it; <see cref="IDisposable.Dispose"/> still releases everything and does not
    /// throw. An error that first surfaces while disposing (a faulting kernel nobody waited for) is only reported here.
    /// </summary>
    public CudaException? FatalError => _device.StickyError;

    /// <summary>Whether cuBLAS may use TF32 tensor cores (off by default; see <see cref="CudaBackendOptions.AllowTf32"/>).</summary>
    public bool AllowTf32
    {
        get => _device.AllowTf32;
        set => _device.AllowTf32 = value;
    }

    /// <inheritdoc/>
    public override string Name => _device.IsEmulated ? "CUDA (emulated)" : $"CUDA: {_device.Info.Name}";

    /// <inheritdoc/>
    public override string Description =>
        $"{(_device.IsEmulated ? "CUDA (emulated)" : "CUDA")} {_device.Info}; TF32 {(AllowTf32 ? "on" : "off")}, " +
        $"block {Options.BlockSize}{(Options.MaxGridBlocks > 0 ? $", grid cap {Options.MaxGridBlocks}" : "")}, " +
        $"memory pool {(Options.UseMemoryPool ? "on" : "off")}";

    /// <inheritdoc/>
    public override bool IsCuda => true;

    /// <summary>
    /// What this backend has queued on its device and how often the host waited, since it was created (see
    /// <see cref="CudaCounters"/>): subtract two snapshots to count a region, e.g. one training step.
    /// </summary>
    public CudaCounters Counters => _device.Counters;

    // ------------------------------------------------------------ memory

    /// <inheritdoc/>
    protected override DeviceStorage AllocateStorage(long elementCount)
    {
        ThrowIfDisposed();
        long bytes = Math.Max(elementCount, 1) * 4;
        ulong pointer = Rent(bytes, "a tensor");
        _device.MemsetD32Async(pointer, 0, Math.Max(elementCount, 1));
        return new CudaStorage(_pool, pointer, elementCount);
    }

    /// <summary>Device address of the tensor's first element.</summary>
    internal static ulong Ptr(Tensor t) => ((CudaStorage)t.Storage).Pointer + (ulong)t.Offset * 4UL;

    /// <inheritdoc/>
    protected override void UploadCore(Tensor destination, ReadOnlySpan<byte> source)
    {
        ThrowIfCapturing("Upload (a blocking host-to-device copy)");
        _device.CopyHostToDevice(Ptr(destination), source);
    }

    /// <inheritdoc/>
    protected override void QueueUploadCore(Tensor destination, ReadOnlySpan<byte> source)
    {
        ThrowIfCapturing("QueueUpload (queue it before the capture or the replay)");
        _staging ??= new PinnedStagingRing(_device);
        nint staged = _staging.Stage(source, out long start, out long end);
        _device.CopyHostToDeviceAsync(Ptr(destination), staged, source.Length, CudaStream.Compute);
        _staging.Queued(start, end);
    }

    /// <inheritdoc/>
    protected override void DownloadCore(Tensor source, Span<byte> destination)
    {
        ThrowIfCapturing("Download (a blocking device-to-host copy)");
        _device.CopyDeviceToHost(destination, Ptr(source));
    }

    /// <inheritdoc/>
    public override void Synchronize()
    {
        ThrowIfDisposed();
        ThrowIfCapturing("Synchronize");
        _device.Synchronize();
    }

    /// <inheritdoc/>
    public override MemoryStats GetMemoryStats() => _pool.Stats;

    /// <summary>Frees the memory pool's cached blocks back to the device (live tensors are untouched).</summary>
    public void TrimMemoryPool() => _pool.Trim();

    /// <inheritdoc/>
    protected override void FillCore(Tensor x, float value) =>
        _device.MemsetD32Async(Ptr(x), BitConverter.SingleToUInt32Bits(value), x.ElementCount);

    /// <inheritdoc/>
    protected override void CopyCore(Tensor source, Tensor destination)
    {
        ulong from = Ptr(source), to = Ptr(destination);
        if (from == to) return;
        ulong bytes = (ulong)source.ByteCount;
        if (from < to + bytes && to < from + bytes)
        {
            // Overlapping views of one buffer: a device memcpy has no defined result there, so stage through a
            // workspace (what memmove, and so the CPU backend's Span.CopyTo, does).
            ulong staging = WorkspaceFloats(ColumnsSlot, source.ElementCount);
            _device.CopyDeviceToDeviceAsync(staging, from, source.ByteCount);
            from = staging;
        }
        _device.CopyDeviceToDeviceAsync(to, from, source.ByteCount);
    }

    // ------------------------------------------------------------ launching

    private CudaKernel Kernel(string name)
    {
        if (!_kernels.TryGetValue(name, out var kernel))
            _kernels[name] = kernel = _device.GetKernel(name);
        return kernel;
    }

    // Every launch goes through one of these three with a KernelCall from the generated launchers (CudaKernels.X(...),
    // built from the kernel signatures in kernels/*.cu), so arguments always match the kernel's parameter list.

    /// <summary>Queues a one-thread-per-element kernel over <paramref name="elements"/> items (grid-stride inside).</summary>
    private void LaunchElements(in KernelCall call, long elements)
    {
        if (elements <= 0) return;
        _device.Launch(Kernel(call.Name), _launch.ElementGrid(elements), Options.BlockSize, 0, call.Args);
    }

    /// <summary>Queues a one-block-per-item kernel (rows, channels, reduction outputs) over <paramref name="items"/>.</summary>
    private void LaunchItems(in KernelCall call, long items)
    {
        if (items <= 0) return;
        _device.Launch(Kernel(call.Name), _launch.ItemGrid(items), Options.BlockSize, 0, call.Args);
    }

    /// <summary>Queues a kernel on an explicit grid and block (tile kernels, single-block reductions).</summary>
    private void Launch(in KernelCall call, Dim3 grid, Dim3 block) => _device.Launch(Kernel(call.Name), grid, block, 0, call.Args);

    // ------------------------------------------------------------ workspaces

    /// <summary>A pooled device buffer that grows on demand and is reused by later ops.</summary>
    private struct Workspace
    {
        public ulong Pointer;
        public long Bytes;
    }

    /// <summary>
    /// Device scratch space <paramref name="slot"/> of at least <paramref name="floats"/> elements. Reuse is safe without
    /// host syncs because all work runs in order on one stream: a later kernel never overtakes an earlier user.
    /// </summary>
    private ulong WorkspaceFloats(int slot, long floats)
    {
        long bytes = Math.Max(floats, 1) * 4;
        ref var w = ref _workspaces[slot];
        if (w.Bytes < bytes)
        {
            ThrowIfCapturing($"growing convolution workspace {slot} to {bytes:N0} bytes");
            if (w.Pointer != 0) _pool.Return(w.Pointer, w.Bytes);
            w.Pointer = 0;
            w.Bytes = 0;
            w.Pointer = Rent(bytes, $"convolution workspace {slot}");
            w.Bytes = bytes;
        }
        return w.Pointer;
    }

    /// <summary>A pooled device block; refused during a graph capture (the graph would keep a pointer the pool may reuse).</summary>
    private ulong Rent(long bytes, string what)
    {
        ThrowIfCapturing($"allocating {bytes:N0} bytes for {what}");
        return _pool.Rent(bytes);
    }

    // ------------------------------------------------------------ lifetime

    /// <summary>
    /// Releases the workspaces, the memory pool's cache and the device (stream, cuBLAS handle, modules, context). After a
    /// sticky error this never throws (the device frees nothing and releases its handles best effort), so inside a
    /// <c>using</c> block the original exception stays the one that propagates; the device is released in any case.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        try
        {
            _staging?.Dispose();
            _staging = null;
            for (int i = 0; i < _workspaces.Length; i++)
            {
                if (_workspaces[i].Pointer != 0) _pool.Return(_workspaces[i].Pointer, _workspaces[i].Bytes);
                _workspaces[i] = default;
            }
            _pool.Dispose();
        }
        finally
        {
            _device.Dispose();
        }
    }
}
