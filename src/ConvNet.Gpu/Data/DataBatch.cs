namespace ConvNet.Gpu.Data;

/// <summary>
/// One mini-batch produced by <see cref="DataLoader.Epoch(int)"/>: <see cref="Count"/> samples, their (normalized) pixels and
/// their labels. The memory behind <see cref="Images"/>, <see cref="Labels"/> and <see cref="SampleIndices"/> belongs to the
/// enumeration and is reused for the next batch: upload or copy it before moving the enumerator on.
/// </summary>
public sealed class DataBatch
{
    internal DataBatch(int index, int epoch, TensorShape sampleShape, ReadOnlyMemory<float> images, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<int> sampleIndices)
    {
        Index = index;
        Epoch = epoch;
        SampleShape = sampleShape;
        Images = images;
        Labels = labels;
        SampleIndices = sampleIndices;
    }

    /// <summary>The batch's position within its epoch, from 0.</summary>
    public int Index { get; }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Number of samples (the batch size, or fewer for the last batch when it is not dropped).</summary>
    public int Count => Labels.Length;

    /// <summary>Shape of one sample (C, H, W).</summary>
    public TensorShape SampleShape { get; }

    /// <summary>The batch shape (N=Count, C, H, W), e.g. for allocating the input tensor.</summary>
    public TensorShape Shape => TensorShape.Nchw(Count, SampleShape[0], SampleShape[1], SampleShape[2]);

    /// <summary>Count × C × H × W floats, row-major NCHW, normalized when the loader has a normalization. Reused by the next batch.</summary>
    public ReadOnlyMemory<float> Images { get; }

    /// <summary>Count class indices, validated against the dataset's class count. Reused by the next batch.</summary>
    public ReadOnlyMemory<int> Labels { get; }

    /// <summary>The dataset index of each sample in the batch. Reused by the next batch.</summary>
    public ReadOnlyMemory<int> SampleIndices { get; }

    /// <summary>Samples in the whole global batch across all ranks (equal to <see cref="Count"/> without a <see cref="DataShard"/>).</summary>
    public int GlobalCount { get; init; }

    /// <summary>Position of this batch's first sample inside the global batch (0 without a <see cref="DataShard"/>).</summary>
    public int ShardStart { get; init; }
}
