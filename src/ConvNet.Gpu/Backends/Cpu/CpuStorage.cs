namespace ConvNet.Gpu.Backends.Cpu;

/// <summary>Host memory for the CPU backend: a pinned, zero-initialized float array (int32 tensors reinterpret it).</summary>
internal sealed class CpuStorage : DeviceStorage
{
    private readonly CpuBackend _owner;

    public CpuStorage(CpuBackend owner, long elementCount) : base(elementCount)
    {
        if (elementCount > Array.MaxLength)
            throw new ConvNetArgumentException($"CPU tensors are limited to {Array.MaxLength} elements, asked for {elementCount}.");
        _owner = owner;
        // Pinned so kernels can take raw pointers without fixed statements; the GC never moves it.
        Data = GC.AllocateArray<float>((int)elementCount, pinned: true);
        owner.OnAllocated(ByteCount);
    }

    /// <summary>The elements; a tensor addresses [Offset, Offset + ElementCount).</summary>
    public float[] Data { get; }

    protected override void Release() => _owner.OnReleased(ByteCount);
}
