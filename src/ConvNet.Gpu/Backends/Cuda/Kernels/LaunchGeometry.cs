namespace ConvNet.Gpu.Backends.Cuda.Kernels;

/// <summary>
/// Grid sizing for the two launch shapes the kernels use. Every kernel loops (grid-stride over elements, or over
/// rows/channels for the reduction kernels), so any grid of at least one block is correct; the cap only trades
/// parallelism for loop rounds.
/// </summary>
internal readonly record struct LaunchGeometry(int BlockSize, int MaxGridBlocks)
{
    /// <summary>Hardware limit of gridDim.x is 2^31 - 1; beyond a million blocks the grid-stride loop takes over.</summary>
    private const long DefaultGridLimit = 1L << 20;

    /// <summary>Blocks for a one-thread-per-element kernel over <paramref name="elements"/> items.</summary>
    public int ElementGrid(long elements) => Cap((elements + BlockSize - 1) / BlockSize);

    /// <summary>Blocks for a one-block-per-item kernel (rows, channels, reduction outputs) over <paramref name="items"/>.</summary>
    public int ItemGrid(long items) => Cap(items);

    private int Cap(long blocks)
    {
        long limit = MaxGridBlocks > 0 ? Math.Min(MaxGridBlocks, DefaultGridLimit) : DefaultGridLimit;
        return (int)Math.Clamp(blocks, 1, limit);
    }
}
