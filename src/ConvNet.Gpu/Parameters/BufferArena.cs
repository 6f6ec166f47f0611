namespace ConvNet.Gpu.Parameters;

/// <summary>
/// Transient buffers handed out by liveness: a backward pass rents a buffer for each gradient it produces, holds it while
/// some consumer still needs it, and the buffer returns to the arena once nobody holds it, so the pass needs as many
/// buffers as are alive at once rather than one per layer.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Rent"/> returns a view of the requested shape over a free block: the smallest free block large enough;
/// when none is, the largest free block is replaced by one of the requested size (or a new block is added when none is
/// free). Blocks are kept between passes, so a repeated pass with the same shapes allocates nothing after the first.
/// </para>
/// <para>
/// Liveness is counted per block: <see cref="Hold"/> and <see cref="Release"/> take any tensor (views included) and act
/// only on tensors whose memory is one of the arena's blocks; <see cref="Sweep"/> frees every rented block that no one
/// holds. A rented buffer's contents are undefined; ops that fill it overwrite every element.
/// </para>
/// </remarks>
internal sealed class BufferArena : IDisposable
{
    private sealed class Block(Tensor memory)
    {
        public Tensor Memory { get; set; } = memory;
        public bool Rented { get; set; }
        public int Holds { get; set; }
    }

    private readonly List<Block> _blocks = [];

    /// <summary>A float32 buffer of <paramref name="shape"/>; it stays rented until a <see cref="Sweep"/> finds it unheld.</summary>
    public Tensor Rent(IBackend backend, TensorShape shape)
    {
        long count = shape.ElementCount;
        Block? best = null, largestFree = null;
        foreach (var b in _blocks)
        {
            if (b.Rented) continue;
            long capacity = b.Memory.ElementCount;
            if (capacity >= count && (best is null || capacity < best.Memory.ElementCount)) best = b;
            if (largestFree is null || capacity > largestFree.Memory.ElementCount) largestFree = b;
        }
        if (best is null)
        {
            var memory = Persistent.Allocate(backend, TensorShape.Vector(checked((int)count)));
            if (largestFree is not null)
            {
                largestFree.Memory.Dispose();
                largestFree.Memory = memory;
                best = largestFree;
            }
            else
            {
                best = new Block(memory);
                _blocks.Add(best);
            }
        }
        best.Rented = true;
        best.Holds = 0;
        return best.Memory.View(shape);
    }

    /// <summary>Counts one more holder of the block behind <paramref name="tensor"/> (no effect for other tensors).</summary>
    public void Hold(Tensor tensor)
    {
        var b = Find(tensor);
        if (b is not null) b.Holds++;
    }

    /// <summary>Counts one holder less of the block behind <paramref name="tensor"/> (no effect for other tensors).</summary>
    public void Release(Tensor tensor)
    {
        var b = Find(tensor);
        if (b is null) return;
        if (b.Holds == 0) throw new InvalidOperationException("BufferArena: a block was released more often than it was held.");
        b.Holds--;
    }

    /// <summary>Returns every rented block that nobody holds to the free list.</summary>
    public void Sweep()
    {
        foreach (var b in _blocks)
            if (b.Rented && b.Holds == 0) b.Rented = false;
    }

    /// <summary>Number of blocks currently rented.</summary>
    public int RentedCount => _blocks.Count(b => b.Rented);

    /// <summary>Bytes held by the arena's blocks, rented or free.</summary>
    public long ByteCount => _blocks.Sum(b => b.Memory.ByteCount);

    private Block? Find(Tensor tensor)
    {
        if (tensor.IsDisposed) return null;
        var storage = tensor.Storage;
        foreach (var b in _blocks)
            if (ReferenceEquals(b.Memory.Storage, storage)) return b;
        return null;
    }

    /// <summary>Frees every block.</summary>
    public void Dispose()
    {
        foreach (var b in _blocks) b.Memory.Dispose();
        _blocks.Clear();
    }
}
