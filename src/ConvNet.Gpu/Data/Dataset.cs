namespace ConvNet.Gpu.Data;

/// <summary>
/// An in-memory labelled image dataset: <see cref="Count"/> samples of shape <see cref="SampleShape"/> (C, H, W),
/// stored as one row-major NCHW float array, with one class index per sample. Immutable; <see cref="Subset"/> and
/// <see cref="Take"/> share the underlying memory instead of copying it.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset from host arrays (held by reference, not copied); see the memory overload for the checks.</summary>
    /// <param name="images">Count × C × H × W floats, row-major (NCHW).</param>
    /// <param name="labels">Count class indices in [0, classNames.Count).</param>
    /// <param name="sampleShape">The shape of one sample, rank 3 (C, H, W).</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="source">Where the data came from.</param>
    /// <exception cref="ConvNetArgumentException">The lengths disagree, the shape is not rank 3, there are no classes, or a label is out of range.</exception>
    public Dataset(float[] images, int[] labels, TensorShape sampleShape, IReadOnlyList<string> classNames, string source)
        : this(new ReadOnlyMemory<float>(images ?? throw new ArgumentNullException(nameof(images))),
            new ReadOnlyMemory<int>(labels ?? throw new ArgumentNullException(nameof(labels))), sampleShape, classNames, source)
    {
    }

    /// <summary>
    /// Creates a dataset from host arrays (or memory). Every label is checked against the class count here, on the host,
    /// so no backend kernel ever sees an out-of-range label.
    /// </summary>
    /// <param name="images">Count × C × H × W floats, row-major (NCHW).</param>
    /// <param name="labels">Count class indices in [0, classNames.Count).</param>
    /// <param name="sampleShape">The shape of one sample, rank 3 (C, H, W); its names are replaced by "C", "H", "W".</param>
    /// <param name="classNames">One name per class; its count is the number of classes.</param>
    /// <param name="source">Where the data came from (a directory, a file pair, "synthetic"...), for messages and logs.</param>
    /// <exception cref="ConvNetArgumentException">The lengths disagree, the shape is not rank 3, there are no classes, or a label is out of range.</exception>
    public Dataset(ReadOnlyMemory<float> images, ReadOnlyMemory<int> labels, TensorShape sampleShape,
        IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(source);
        if (sampleShape.Rank != 3)
            throw new ShapeMismatchException($"A dataset sample shape must be rank 3 (C, H, W), got {sampleShape}.");
        if (classNames.Count < 1)
            throw new ConvNetArgumentException("A dataset needs at least one class name.", nameof(classNames));
        for (int i = 0; i < classNames.Count; i++)
            if (classNames[i] is null)
                throw new ConvNetArgumentException($"Class name {i} is null.", nameof(classNames));

        var chw = new TensorShape([sampleShape[0], sampleShape[1], sampleShape[2]], ["C", "H", "W"]);
        long sampleSize = chw.ElementCount;
        if (images.Length != labels.Length * sampleSize)
            throw new ShapeMismatchException(
                $"Dataset '{source}': {labels.Length} labels of sample shape {chw} need {labels.Length * sampleSize} image values, got {images.Length}" +
                (images.Length % sampleSize == 0 ? $" ({images.Length / sampleSize} samples)." : "."));

        ReadOnlySpan<int> l = labels.Span;
        int classes = classNames.Count;
        for (int i = 0; i < l.Length; i++)
        {
            if ((uint)l[i] >= (uint)classes)
                throw new ConvNetArgumentException(
                    $"Dataset '{source}': label {l[i]} at sample {i} is out of range for {classes} classes (valid 0..{classes - 1}).", nameof(labels));
        }

        Images = images;
        Labels = labels;
        SampleShape = chw;
        ClassNames = classNames.ToArray();
        Source = source;
    }

    // Trusted constructor for views of an already validated dataset.
    private Dataset(Dataset parent, int start, int count, string source)
    {
        int size = parent.SampleSize;
        Images = parent.Images.Slice(start * size, count * size);
        Labels = parent.Labels.Slice(start, count);
        SampleShape = parent.SampleShape;
        ClassNames = parent.ClassNames;
        Source = source;
    }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Shape of one sample: (C, H, W), e.g. (C=1, H=28, W=28) for Fashion-MNIST.</summary>
    public TensorShape SampleShape { get; }

    /// <summary>Floats per sample, C × H × W.</summary>
    public int SampleSize => (int)SampleShape.ElementCount;

    /// <summary>All images, <see cref="Count"/> × C × H × W floats, row-major NCHW.</summary>
    public ReadOnlyMemory<float> Images { get; }

    /// <summary>One class index per sample, each in [0, <see cref="ClassCount"/>).</summary>
    public ReadOnlyMemory<int> Labels { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>Human-readable class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where the data came from (a directory, a file pair, "synthetic"...).</summary>
    public string Source { get; }

    /// <summary>The pixels of sample <paramref name="index"/> (C × H × W floats).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, Count).</exception>
    public ReadOnlyMemory<float> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Images.Slice(index * SampleSize, SampleSize);
    }

    /// <summary>Samples [start, start + count) as a dataset that shares this one's memory.</summary>
    /// <exception cref="ConvNetArgumentException">The range is not inside [0, Count].</exception>
    public Dataset Subset(int start, int count)
    {
        if (start < 0 || count < 0 || (long)start + count > Count)
            throw new ConvNetArgumentException(
                $"Subset(start: {start}, count: {count}) is outside dataset '{Source}' of {Count} samples.");
        return new Dataset(this, start, count, $"{Source}[{start}..{start + count})");
    }

    /// <summary>The first <paramref name="count"/> samples (all of them when count ≥ Count), sharing this one's memory.</summary>
    /// <exception cref="ConvNetArgumentException"><paramref name="count"/> is negative.</exception>
    public Dataset Take(int count)
    {
        if (count < 0)
            throw new ConvNetArgumentException($"Take(count: {count}): the count must be non-negative.", nameof(count));
        return count >= Count ? this : Subset(0, count);
    }

    /// <summary>How many samples carry each label, indexed by class.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[ClassCount];
        foreach (int label in Labels.Span) counts[label]++;
        return counts;
    }

    /// <summary>Describes the dataset, e.g. "60000 samples of (C=1, H=28, W=28), 10 classes, from ...".</summary>
    public override string ToString() => $"{Count} samples of {SampleShape}, {ClassCount} classes, from {Source}";
}
