namespace ConvNet.Gpu.Data;

/// <summary>
/// One mini-batch produced by <see cref="DataLoader.Epoch(int)"/>: <see cref="Count"/> samples, their (transformed,
/// normalized) inputs and their targets: class indices (<see cref="Labels"/>) or float tensors (<see cref="Targets"/>).
/// The memory behind <see cref="Images"/>, <see cref="Labels"/>, <see cref="Targets"/> and <see cref="SampleIndices"/>
/// belongs to the enumeration and is reused for a later batch: upload or copy it before moving the enumerator on.
/// </summary>
public sealed class DataBatch
{
    internal DataBatch(int index, int epoch, int count, TensorShape sampleShape, ReadOnlyMemory<float> images, ReadOnlyMemory<int> labels,
        TensorShape? targetShape, ReadOnlyMemory<float> targets, ReadOnlyMemory<int> sampleIndices)
    {
        Index = index;
        Epoch = epoch;
        Count = count;
        SampleShape = sampleShape;
        Images = images;
        Labels = labels;
        TargetShape = targetShape;
        Targets = targets;
        SampleIndices = sampleIndices;
    }

    /// <summary>The batch's position within its epoch, from 0.</summary>
    public int Index { get; }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Number of samples (the batch size, or fewer for the last batch when it is not dropped, or this rank's share).</summary>
    public int Count { get; }

    /// <summary>Shape of one input sample, e.g. (C, H, W).</summary>
    public TensorShape SampleShape { get; }

    /// <summary>The batch shape (N=Count, sample...), e.g. for allocating the input tensor.</summary>
    public TensorShape Shape => WithBatch(SampleShape, Count);

    /// <summary>Count × sample floats, row-major (NCHW for images). Reused by a later batch.</summary>
    public ReadOnlyMemory<float> Images { get; }

    /// <summary>Count class indices, validated against the dataset's class count; empty when the targets are floats. Reused by a later batch.</summary>
    public ReadOnlyMemory<int> Labels { get; }

    /// <summary>Whether the targets are class indices (<see cref="Labels"/>) rather than floats (<see cref="Targets"/>).</summary>
    public bool HasLabels => TargetShape is null;

    /// <summary>Shape of one float target, or null for class indices.</summary>
    public TensorShape? TargetShape { get; }

    /// <summary>Count × target floats, row-major; empty for class indices. Reused by a later batch.</summary>
    public ReadOnlyMemory<float> Targets { get; }

    /// <summary>The batch shape of the float targets (N=Count, target...), or null for class indices.</summary>
    public TensorShape? TargetsShape => TargetShape is null ? null : WithBatch(TargetShape, Count);

    /// <summary>The dataset index of each sample in the batch. Reused by a later batch.</summary>
    public ReadOnlyMemory<int> SampleIndices { get; }

    /// <summary>Samples in the whole global batch across all ranks (equal to <see cref="Count"/> without a <see cref="DataShard"/>).</summary>
    public int GlobalCount { get; init; }

    /// <summary>Position of this batch's first sample inside the global batch (0 without a <see cref="DataShard"/>).</summary>
    public int ShardStart { get; init; }

    private static TensorShape WithBatch(TensorShape sample, int count)
    {
        var dims = new int[sample.Rank + 1];
        var names = new string[sample.Rank + 1];
        dims[0] = count;
        names[0] = "N";
        for (int i = 0; i < sample.Rank; i++) { dims[i + 1] = sample[i]; names[i + 1] = sample.NameOf(i); }
        return new TensorShape(dims, names);
    }
}
