namespace ConvNet.Gpu.Data;

/// <summary>
/// An in-memory dataset: <see cref="Count"/> input samples of shape <see cref="SampleShape"/> (any rank from 1 to 3:
/// images (C, H, W), feature vectors (F), ...), stored as one row-major float array, and one target per sample of the
/// kind <see cref="TargetKind"/>: a class index (<see cref="Labels"/>), or a float tensor of <see cref="TargetShape"/>
/// (<see cref="Targets"/>: regression values, an autoencoder's input, a segmentation mask, a multi-hot vector).
/// Immutable; <see cref="Subset"/> and <see cref="Take"/> share the underlying memory instead of copying it.
/// </summary>
/// <remarks>
/// Build one with the constructors (class indices) or the factories: <see cref="FromArrays(float[], TensorShape, float[], TensorShape, string?)"/>,
/// <see cref="MultiLabel"/>, <see cref="Autoencoder"/>, <see cref="FromTensors"/>, the <c>FromGenerator</c> overloads, and
/// <see cref="AsAutoencoder"/>. Every target is checked when the dataset is made (class indices in range, multi-hot values
/// 0 or 1, float targets finite), so no backend kernel ever sees a bad one.
/// </remarks>
public sealed partial class Dataset
{
    private readonly ReadOnlyMemory<int> _labels;
    private readonly ReadOnlyMemory<float> _targets;

    /// <summary>Creates a classification dataset from host arrays (held by reference, not copied); see the memory overload for the checks.</summary>
    /// <param name="images">Count × sample floats, row-major (NCHW for images).</param>
    /// <param name="labels">Count class indices in [0, classNames.Count).</param>
    /// <param name="sampleShape">The shape of one sample, rank 1 to 3: (C, H, W), (F), ...</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="source">Where the data came from.</param>
    /// <exception cref="ConvNetArgumentException">The lengths disagree, the shape's rank is not 1 to 3, there are no classes, or a label is out of range.</exception>
    public Dataset(float[] images, int[] labels, TensorShape sampleShape, IReadOnlyList<string> classNames, string source)
        : this(new ReadOnlyMemory<float>(images ?? throw new ArgumentNullException(nameof(images))),
            new ReadOnlyMemory<int>(labels ?? throw new ArgumentNullException(nameof(labels))), sampleShape, classNames, source)
    {
    }

    /// <summary>
    /// Creates a classification dataset from host memory (held by reference). Every label is checked against the class
    /// count here, on the host.
    /// </summary>
    /// <param name="images">Count × sample floats, row-major (NCHW for images).</param>
    /// <param name="labels">Count class indices in [0, classNames.Count).</param>
    /// <param name="sampleShape">The shape of one sample, rank 1 to 3; a rank-3 shape is named (C, H, W), a rank-1 shape (F).</param>
    /// <param name="classNames">One name per class; its count is the number of classes.</param>
    /// <param name="source">Where the data came from (a directory, a file pair, "synthetic"...), for messages and logs.</param>
    /// <exception cref="ConvNetArgumentException">The lengths disagree, the shape's rank is not 1 to 3, there are no classes, or a label is out of range.</exception>
    public Dataset(ReadOnlyMemory<float> images, ReadOnlyMemory<int> labels, TensorShape sampleShape,
        IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        SampleShape = NameSample(sampleShape, source, "sample");
        ClassNames = CheckClassNames(classNames, source);
        CheckInputs(images, labels.Length, "labels", SampleShape, source);
        ReadOnlySpan<int> l = labels.Span;
        int classes = ClassNames.Count;
        for (int i = 0; i < l.Length; i++)
        {
            if ((uint)l[i] >= (uint)classes)
                throw new ConvNetArgumentException(
                    $"Dataset '{source}': label {l[i]} at sample {i} is out of range for {classes} classes (valid 0..{classes - 1}).", nameof(labels));
        }
        Images = images;
        _labels = labels;
        Count = labels.Length;
        TargetKind = TargetKind.ClassIndex;
        Source = source;
    }

    // Float targets (values or multi-hot), checked.
    private Dataset(ReadOnlyMemory<float> images, TensorShape sampleShape, ReadOnlyMemory<float> targets, TensorShape targetShape,
        TargetKind kind, IReadOnlyList<string> classNames, string source)
    {
        SampleShape = NameSample(sampleShape, source, "sample");
        TargetShape = NameSample(targetShape, source, "target");
        long targetSize = TargetShape.ElementCount;
        if (targets.Length % targetSize != 0)
            throw new ShapeMismatchException(
                $"Dataset '{source}': {targets.Length} target values are not a whole number of targets of shape {TargetShape} ({targetSize} values each).");
        int count = (int)(targets.Length / targetSize);
        CheckInputs(images, count, "targets", SampleShape, source);
        ReadOnlySpan<float> t = targets.Span;
        if (kind == TargetKind.MultiHot)
        {
            ClassNames = CheckClassNames(classNames, source);
            if (TargetShape.Rank != 1 || TargetShape[0] != ClassNames.Count)
                throw new ShapeMismatchException(
                    $"Dataset '{source}': multi-hot targets must be vectors of one value per class ({ClassNames.Count}), got target shape {TargetShape}.");
            for (int i = 0; i < t.Length; i++)
                if (t[i] != 0f && t[i] != 1f)
                    throw new ConvNetArgumentException(
                        $"Dataset '{source}': multi-hot target value {t[i]} at sample {i / targetSize}, class {i % targetSize} is not 0 or 1.", nameof(targets));
        }
        else
        {
            ClassNames = [];
            for (int i = 0; i < t.Length; i++)
                if (!float.IsFinite(t[i]))
                    throw new ConvNetArgumentException(
                        $"Dataset '{source}': target value {t[i]} at sample {i / targetSize} (flat index {i % targetSize} of {TargetShape}) is not finite.", nameof(targets));
        }
        Images = images;
        _targets = targets;
        Count = count;
        TargetKind = kind;
        Source = source;
    }

    // Trusted constructor for views and copies of an already validated dataset.
    private Dataset(Dataset like, ReadOnlyMemory<float> images, ReadOnlyMemory<int> labels, ReadOnlyMemory<float> targets, int count, string source)
    {
        Images = images;
        _labels = labels;
        _targets = targets;
        Count = count;
        SampleShape = like.SampleShape;
        TargetShape = like.TargetShape;
        TargetKind = like.TargetKind;
        ClassNames = like.ClassNames;
        Source = source;
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Shape of one input sample: e.g. (C=1, H=28, W=28) for Fashion-MNIST, (F=13) for a feature vector.</summary>
    public TensorShape SampleShape { get; }

    /// <summary>Floats per input sample (the element count of <see cref="SampleShape"/>).</summary>
    public int SampleSize => (int)SampleShape.ElementCount;

    /// <summary>All input samples, <see cref="Count"/> × <see cref="SampleSize"/> floats, row-major (NCHW for images).</summary>
    public ReadOnlyMemory<float> Images { get; }

    /// <summary>What the targets are: class indices, float values, or multi-hot vectors.</summary>
    public TargetKind TargetKind { get; }

    /// <summary>True for class-index targets (<see cref="Labels"/>); false for float targets (<see cref="Targets"/>).</summary>
    public bool HasLabels => TargetKind == TargetKind.ClassIndex;

    /// <summary>One class index per sample, each in [0, <see cref="ClassCount"/>).</summary>
    /// <exception cref="InvalidOperationException">The dataset has float targets (use <see cref="Targets"/>).</exception>
    public ReadOnlyMemory<int> Labels => HasLabels ? _labels : throw new InvalidOperationException(
        $"Dataset '{Source}' has {TargetKind} targets of shape {TargetShape}, not class labels; read Targets instead.");

    /// <summary>
    /// Shape of one float target (e.g. (C=1, H=28, W=28) for an autoencoder, (F=5) for five multi-hot classes); null for
    /// class-index targets.
    /// </summary>
    public TensorShape? TargetShape { get; }

    /// <summary>Floats per target (0 for class indices).</summary>
    public int TargetSize => TargetShape is null ? 0 : (int)TargetShape.ElementCount;

    /// <summary>All float targets, <see cref="Count"/> × <see cref="TargetSize"/> floats, row-major.</summary>
    /// <exception cref="InvalidOperationException">The dataset has class-index targets (use <see cref="Labels"/>).</exception>
    public ReadOnlyMemory<float> Targets => !HasLabels ? _targets : throw new InvalidOperationException(
        $"Dataset '{Source}' has class-index targets; read Labels instead.");

    /// <summary>Number of classes: the class names' count for class-index and multi-hot targets, 0 for float values.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>Human-readable class names, indexed by label (empty for float-value targets).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where the data came from (a directory, a file pair, "synthetic"...).</summary>
    public string Source { get; }

    /// <summary>The input of sample <paramref name="index"/> (<see cref="SampleSize"/> floats).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, Count).</exception>
    public ReadOnlyMemory<float> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Images.Slice(index * SampleSize, SampleSize);
    }

    /// <summary>The float target of sample <paramref name="index"/> (<see cref="TargetSize"/> floats).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, Count).</exception>
    /// <exception cref="InvalidOperationException">The dataset has class-index targets.</exception>
    public ReadOnlyMemory<float> GetTarget(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Targets.Slice(index * TargetSize, TargetSize);
    }

    /// <summary>Samples [start, start + count) as a dataset that shares this one's memory.</summary>
    /// <exception cref="ConvNetArgumentException">The range is not inside [0, Count].</exception>
    public Dataset Subset(int start, int count)
    {
        if (start < 0 || count < 0 || (long)start + count > Count)
            throw new ConvNetArgumentException(
                $"Subset(start: {start}, count: {count}) is outside dataset '{Source}' of {Count} samples.");
        return new Dataset(this, Images.Slice(start * SampleSize, count * SampleSize),
            HasLabels ? _labels.Slice(start, count) : default, HasLabels ? default : _targets.Slice(start * TargetSize, count * TargetSize),
            count, $"{Source}[{start}..{start + count})");
    }

    /// <summary>The same samples and targets with other inputs of the same shape (e.g. normalized copies).</summary>
    internal Dataset WithInputs(float[] inputs)
    {
        if (inputs.Length != Images.Length)
            throw new ShapeMismatchException($"WithInputs: {inputs.Length} floats for dataset '{Source}' of {Images.Length}.");
        return new Dataset(this, inputs, _labels, _targets, Count, Source);
    }

    /// <summary>The first <paramref name="count"/> samples (all of them when count ≥ Count), sharing this one's memory.</summary>
    /// <exception cref="ConvNetArgumentException"><paramref name="count"/> is negative.</exception>
    public Dataset Take(int count)
    {
        if (count < 0)
            throw new ConvNetArgumentException($"Take(count: {count}): the count must be non-negative.", nameof(count));
        return count >= Count ? this : Subset(0, count);
    }

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (copied; repeats allowed).</summary>
    /// <param name="indices">Sample indices in [0, Count).</param>
    /// <param name="source">The new dataset's source; default "&lt;source&gt;[n selected]".</param>
    /// <exception cref="ConvNetArgumentException">An index is out of range.</exception>
    public Dataset Select(ReadOnlySpan<int> indices, string? source = null)
    {
        int n = indices.Length, size = SampleSize, targetSize = TargetSize;
        var images = new float[(long)n * size];
        var labels = HasLabels ? new int[n] : [];
        var targets = HasLabels ? [] : new float[(long)n * targetSize];
        ReadOnlySpan<float> allImages = Images.Span, allTargets = _targets.Span;
        ReadOnlySpan<int> allLabels = _labels.Span;
        for (int i = 0; i < n; i++)
        {
            int s = indices[i];
            if ((uint)s >= (uint)Count)
                throw new ConvNetArgumentException($"Select: index {s} at position {i} is outside dataset '{Source}' of {Count} samples.", nameof(indices));
            allImages.Slice(s * size, size).CopyTo(images.AsSpan(i * size, size));
            if (HasLabels) labels[i] = allLabels[s];
            else allTargets.Slice(s * targetSize, targetSize).CopyTo(targets.AsSpan(i * targetSize, targetSize));
        }
        return new Dataset(this, images, labels, targets, n, source ?? $"{Source}[{n} selected]");
    }

    /// <summary>
    /// How many samples belong to each class, indexed by class: the label counts for class indices, the number of
    /// positive samples per class for multi-hot targets.
    /// </summary>
    /// <exception cref="InvalidOperationException">The targets are float values (no classes).</exception>
    public int[] CountPerClass()
    {
        var counts = new int[ClassCount];
        switch (TargetKind)
        {
            case TargetKind.ClassIndex:
                foreach (int label in _labels.Span) counts[label]++;
                return counts;
            case TargetKind.MultiHot:
                ReadOnlySpan<float> t = _targets.Span;
                for (int i = 0; i < t.Length; i++) if (t[i] == 1f) counts[i % ClassCount]++;
                return counts;
            default:
                throw new InvalidOperationException($"Dataset '{Source}' has float-value targets; it has no classes to count.");
        }
    }

    /// <summary>Describes the dataset, e.g. "60000 samples of (C=1, H=28, W=28), 10 classes, from ...".</summary>
    public override string ToString() => TargetKind switch
    {
        TargetKind.ClassIndex => $"{Count} samples of {SampleShape}, {ClassCount} classes, from {Source}",
        TargetKind.MultiHot => $"{Count} samples of {SampleShape}, multi-hot targets over {ClassCount} classes, from {Source}",
        _ => $"{Count} samples of {SampleShape} with targets {TargetShape}, from {Source}",
    };

    // Names a rank-3 shape (C, H, W) and a rank-1 shape (F); keeps a rank-2 shape's names.
    private static TensorShape NameSample(TensorShape shape, string source, string what)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return shape.Rank switch
        {
            3 => new TensorShape([shape[0], shape[1], shape[2]], ["C", "H", "W"]),
            1 => new TensorShape([shape[0]], ["F"]),
            2 => shape,
            _ => throw new ShapeMismatchException(
                $"Dataset '{source}': a {what} shape must have rank 1 to 3 ((F), ..., (C, H, W)), got {shape}; the batch adds the fourth dimension."),
        };
    }

    private static string[] CheckClassNames(IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 1)
            throw new ConvNetArgumentException($"Dataset '{source}' needs at least one class name.", nameof(classNames));
        for (int i = 0; i < classNames.Count; i++)
            if (classNames[i] is null)
                throw new ConvNetArgumentException($"Class name {i} is null.", nameof(classNames));
        return classNames.ToArray();
    }

    private static void CheckInputs(ReadOnlyMemory<float> images, int count, string what, TensorShape sampleShape, string source)
    {
        long sampleSize = sampleShape.ElementCount;
        if (images.Length != count * sampleSize)
            throw new ShapeMismatchException(
                $"Dataset '{source}': {count} {what} of sample shape {sampleShape} need {count * sampleSize} image values, got {images.Length}" +
                (images.Length % sampleSize == 0 ? $" ({images.Length / sampleSize} samples)." : "."));
    }
}
