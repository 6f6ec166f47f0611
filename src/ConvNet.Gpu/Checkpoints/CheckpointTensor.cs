namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// A named float32 array stored in a checkpoint (weights, optimizer moments...): its dimensions, outermost first,
/// and its row-major data. The arrays are held by reference, not copied.
/// </summary>
public sealed class CheckpointTensor
{
    /// <summary>Largest rank a checkpoint tensor may have.</summary>
    public const int MaxRank = 8;

    /// <summary>Wraps dimensions and data; the data length must equal the product of the dimensions (1 for rank 0).</summary>
    /// <param name="Dimensions">Dimensions, outermost first, each ≥ 0; at most <see cref="MaxRank"/> of them.</param>
    /// <param name="Data">Row-major float32 values.</param>
    /// <exception cref="ConvNetArgumentException">A dimension is negative, the rank is too large, or the lengths disagree.</exception>
    public CheckpointTensor(int[] Dimensions, float[] Data)
    {
        ArgumentNullException.ThrowIfNull(Dimensions);
        ArgumentNullException.ThrowIfNull(Data);
        if (Dimensions.Length > MaxRank)
            throw new ConvNetArgumentException($"A checkpoint tensor has at most {MaxRank} dimensions, got {Dimensions.Length}.", nameof(Dimensions));
        long count = 1;
        foreach (int d in Dimensions)
        {
            if (d < 0)
                throw new ConvNetArgumentException($"Checkpoint tensor dimensions must be non-negative, got [{string.Join(", ", Dimensions)}].", nameof(Dimensions));
            count = checked(count * d);
        }
        if (count != Data.Length)
            throw new ConvNetArgumentException(
                $"Checkpoint tensor dimensions [{string.Join(", ", Dimensions)}] hold {count} values but the data has {Data.Length}.", nameof(Data));
        this.Dimensions = Dimensions;
        this.Data = Data;
    }

    /// <summary>Dimensions, outermost first.</summary>
    public int[] Dimensions { get; }

    /// <summary>Row-major values.</summary>
    public float[] Data { get; }

    /// <summary>Formats as "[6, 1, 5, 5]".</summary>
    public override string ToString() => $"[{string.Join(", ", Dimensions)}]";
}
