namespace ConvNet.Gpu.Data;

/// <summary>
/// Which part of every global batch one rank of a data-parallel run takes. Global batch b is the same on every world
/// size (samples b*B .. b*B + B' - 1 of the epoch's seeded order, B' = B except for a short last batch), and rank r of
/// N takes its positions [floor(r B' / N), floor((r+1) B' / N)): the shards differ in size by at most one, cover the
/// batch exactly, and every sample is seen once per epoch whatever N is. A rank's shard is empty only when B' &lt; N.
/// </summary>
/// <param name="Rank">This rank, 0 to <paramref name="WorldSize"/> - 1.</param>
/// <param name="WorldSize">The number of ranks.</param>
public readonly record struct DataShard(int Rank, int WorldSize)
{
    /// <summary>The whole batch (a single process).</summary>
    public static DataShard Whole => new(0, 1);

    /// <summary>Validates the rank and world size.</summary>
    /// <exception cref="ConvNetArgumentException">The world size is below 1 or the rank is outside [0, world size).</exception>
    public void Validate()
    {
        if (WorldSize < 1) throw new ConvNetArgumentException($"A data shard needs a world size of at least 1, got {WorldSize}.");
        if (Rank < 0 || Rank >= WorldSize) throw new ConvNetArgumentException($"Shard rank {Rank} is outside [0, {WorldSize}).");
    }

    /// <summary>This rank's [Start, Start + Count) inside a global batch of <paramref name="globalCount"/> samples.</summary>
    public (int Start, int Count) Of(int globalCount)
    {
        int start = (int)((long)Rank * globalCount / WorldSize);
        int end = (int)((long)(Rank + 1) * globalCount / WorldSize);
        return (start, end - start);
    }
}
