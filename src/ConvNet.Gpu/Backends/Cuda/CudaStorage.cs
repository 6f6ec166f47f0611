namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>Device memory of one owning tensor: a block rented from the backend's <see cref="CudaMemoryPool"/>.</summary>
internal sealed class CudaStorage : DeviceStorage
{
    private readonly CudaMemoryPool _pool;

    public CudaStorage(CudaMemoryPool pool, ulong pointer, long elementCount) : base(elementCount)
    {
        _pool = pool;
        Pointer = pointer;
    }

    /// <summary>Device address of element 0.</summary>
    public ulong Pointer { get; }

    protected override void Release() => _pool.Return(Pointer, ByteCount);
}
