namespace ConvNet.Gpu.Distributed;

/// <summary>
/// The world of 1: rank 0 of 1. Every collective returns at once without copying (the sum over one rank is the
/// buffer itself), so single-process training pays nothing for the distributed code path.
/// </summary>
public sealed class SingleProcessCollectives : ICollectives
{
    private sealed class Done(string operation) : IPendingReduction
    {
        public string Operation { get; } = operation;
        public bool Poll() => true;
        public void Wait() { }
    }

    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int WorldSize => 1;

    /// <inheritdoc/>
    public string Description => "single process (world of 1, no communication)";

    /// <inheritdoc/>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <inheritdoc/>
    public byte[][] AllGather(ReadOnlySpan<byte> local, string operation) => [local.ToArray()];

    /// <inheritdoc/>
    public IPendingReduction StartAllReduceSum(Memory<float> buffer, string operation) => new Done(operation);

    /// <summary>Nothing to release.</summary>
    public void Dispose() { }
}
