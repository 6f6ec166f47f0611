namespace ConvNet.Gpu.Data;

/// <summary>Writes sample <c>index</c>'s input into <paramref name="input"/> and returns its class index.</summary>
/// <param name="index">The sample index, 0 to count - 1.</param>
/// <param name="input">The sample's input, sample-shape floats (zeroed before the call).</param>
public delegate int LabelledSampleGenerator(int index, Span<float> input);

/// <summary>Writes sample <c>index</c>'s input and float target.</summary>
/// <param name="index">The sample index, 0 to count - 1.</param>
/// <param name="input">The sample's input, sample-shape floats (zeroed before the call).</param>
/// <param name="target">The sample's target, target-shape floats (zeroed before the call).</param>
public delegate void SampleGenerator(int index, Span<float> input, Span<float> target);

public sealed partial class Dataset
{
    /// <summary>A classification dataset from arrays (held by reference); the same as the constructor.</summary>
    /// <param name="inputs">Count × sample floats, row-major.</param>
    /// <param name="sampleShape">One sample's shape, rank 1 to 3.</param>
    /// <param name="labels">Count class indices in [0, classNames.Count).</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="source">Where the data came from; default "arrays".</param>
    /// <exception cref="ConvNetArgumentException">The lengths disagree or a label is out of range.</exception>
    public static Dataset FromArrays(float[] inputs, TensorShape sampleShape, int[] labels, IReadOnlyList<string> classNames, string? source = null) =>
        new(inputs, labels, sampleShape, classNames, source ?? "arrays");

    /// <summary>
    /// A dataset with a float target of any shape per sample (regression values, masks...), from arrays held by reference.
    /// The sample count is the target count.
    /// </summary>
    /// <param name="inputs">Count × sample floats, row-major.</param>
    /// <param name="sampleShape">One input's shape, rank 1 to 3.</param>
    /// <param name="targets">Count × target floats, row-major; every value finite.</param>
    /// <param name="targetShape">One target's shape, rank 1 to 3: (1) for one regression value, (1, H, W) for a binary mask.</param>
    /// <param name="source">Where the data came from; default "arrays".</param>
    /// <exception cref="ShapeMismatchException">The input and target counts disagree.</exception>
    /// <exception cref="ConvNetArgumentException">A target is NaN or infinite.</exception>
    public static Dataset FromArrays(float[] inputs, TensorShape sampleShape, float[] targets, TensorShape targetShape, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        return new Dataset(inputs, sampleShape, targets, targetShape, TargetKind.Values, [], source ?? "arrays");
    }

    /// <summary>A multi-label dataset: one multi-hot vector per sample (1 for every class present, 0 otherwise).</summary>
    /// <param name="inputs">Count × sample floats, row-major.</param>
    /// <param name="sampleShape">One input's shape, rank 1 to 3.</param>
    /// <param name="multiHot">Count × classes values, each exactly 0 or 1.</param>
    /// <param name="classNames">One name per class; the vectors' length.</param>
    /// <param name="source">Where the data came from; default "arrays".</param>
    /// <exception cref="ConvNetArgumentException">A value is not 0 or 1, or there are no classes.</exception>
    /// <exception cref="ShapeMismatchException">The counts disagree.</exception>
    public static Dataset MultiLabel(float[] inputs, TensorShape sampleShape, float[] multiHot, IReadOnlyList<string> classNames, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(multiHot);
        ArgumentNullException.ThrowIfNull(classNames);
        return new Dataset(inputs, sampleShape, multiHot, TensorShape.Vector(Math.Max(classNames.Count, 1)), TargetKind.MultiHot, classNames,
            source ?? "arrays");
    }

    /// <summary>An autoencoder's dataset: every sample's target is its input (the same memory, not a copy).</summary>
    /// <param name="inputs">Count × sample floats, row-major; every value finite.</param>
    /// <param name="sampleShape">One sample's shape, rank 1 to 3.</param>
    /// <param name="source">Where the data came from; default "arrays".</param>
    public static Dataset Autoencoder(float[] inputs, TensorShape sampleShape, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return new Dataset(inputs, sampleShape, inputs, sampleShape, TargetKind.Values, [], source ?? "arrays");
    }

    /// <summary>This dataset's inputs with themselves as targets (shared memory), e.g. Fashion-MNIST for an autoencoder.</summary>
    /// <exception cref="ConvNetArgumentException">An input value is NaN or infinite.</exception>
    public Dataset AsAutoencoder() =>
        new(Images, SampleShape, Images, SampleShape, TargetKind.Values, [], Source + " (autoencoder)");

    /// <summary>
    /// A dataset from tensors on any backend (downloaded once to the host): inputs (N, sample...) and targets either int32
    /// (N) class indices, which need <paramref name="classNames"/>, or float32 (N, target...) values.
    /// </summary>
    /// <param name="inputs">Float32 (N, sample...), rank 2 to 4.</param>
    /// <param name="targets">Int32 (N) class indices or float32 (N, target...) values.</param>
    /// <param name="classNames">The class names for int32 targets; must be null for float targets.</param>
    /// <param name="source">Where the data came from; default "tensors".</param>
    /// <exception cref="ShapeMismatchException">The batch sizes disagree, or a tensor has rank 1 where a sample dimension is needed.</exception>
    /// <exception cref="ConvNetArgumentException">Int32 targets without class names, float targets with them, or a target out of range.</exception>
    public static Dataset FromTensors(Tensor inputs, Tensor targets, IReadOnlyList<string>? classNames = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        source ??= "tensors";
        if (inputs.DataType != DataType.Float32 || inputs.Rank < 2)
            throw new ShapeMismatchException($"Dataset.FromTensors: inputs must be float32 (N, sample...) of rank 2 to 4, got {inputs}.");
        if (targets.Shape[0] != inputs.Shape[0])
            throw new ShapeMismatchException($"Dataset.FromTensors: {inputs.Shape[0]} inputs {inputs.Shape} but {targets.Shape[0]} targets {targets.Shape}.");
        var sample = SampleOf(inputs.Shape);
        var x = new float[inputs.ElementCount];
        inputs.Download(x);
        if (targets.DataType == DataType.Int32)
        {
            if (targets.Rank != 1)
                throw new ShapeMismatchException($"Dataset.FromTensors: int32 class-index targets must be (N), got {targets.Shape}.");
            if (classNames is null)
                throw new ConvNetArgumentException("Dataset.FromTensors: int32 targets are class indices and need the class names.", nameof(classNames));
            var labels = new int[targets.ElementCount];
            targets.Download(labels);
            return new Dataset(x, labels, sample, classNames, source);
        }
        if (classNames is not null)
            throw new ConvNetArgumentException(
                "Dataset.FromTensors: float targets are values, which have no class names; use Dataset.MultiLabel for multi-hot vectors.", nameof(classNames));
        if (targets.Rank < 2)
            throw new ShapeMismatchException($"Dataset.FromTensors: float targets must be (N, target...) of rank 2 to 4, got {targets.Shape}; use (N, 1) for one value per sample.");
        var t = new float[targets.ElementCount];
        targets.Download(t);
        return new Dataset(x, sample, t, SampleOf(targets.Shape), TargetKind.Values, [], source);
    }

    /// <summary>
    /// A classification dataset of <paramref name="count"/> samples made by calling <paramref name="generate"/> once per
    /// index (in parallel, so it must be thread-safe and depend only on the index). The samples are kept in memory.
    /// </summary>
    /// <param name="count">Number of samples, at least 1.</param>
    /// <param name="sampleShape">One input's shape, rank 1 to 3.</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="generate">Fills sample i's input and returns its class index.</param>
    /// <param name="source">Where the data came from; default "generated".</param>
    /// <exception cref="ConvNetArgumentException">The count is below 1, or a returned label is out of range.</exception>
    public static Dataset FromGenerator(int count, TensorShape sampleShape, IReadOnlyList<string> classNames, LabelledSampleGenerator generate,
        string? source = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(generate);
        CheckCount(count);
        int size = checked((int)sampleShape.ElementCount);
        var inputs = new float[(long)count * size];
        var labels = new int[count];
        Parallel.For(0, count, i => labels[i] = generate(i, inputs.AsSpan(i * size, size)));
        return new Dataset(inputs, labels, sampleShape, classNames, source ?? "generated");
    }

    /// <summary>
    /// A dataset of <paramref name="count"/> samples with float targets made by calling <paramref name="generate"/> once per
    /// index (in parallel, so it must be thread-safe and depend only on the index). The samples are kept in memory.
    /// </summary>
    /// <param name="count">Number of samples, at least 1.</param>
    /// <param name="sampleShape">One input's shape, rank 1 to 3.</param>
    /// <param name="targetShape">One target's shape, rank 1 to 3.</param>
    /// <param name="generate">Fills sample i's input and target.</param>
    /// <param name="source">Where the data came from; default "generated".</param>
    /// <exception cref="ConvNetArgumentException">The count is below 1, or a target is not finite.</exception>
    public static Dataset FromGenerator(int count, TensorShape sampleShape, TensorShape targetShape, SampleGenerator generate, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(targetShape);
        ArgumentNullException.ThrowIfNull(generate);
        CheckCount(count);
        int size = checked((int)sampleShape.ElementCount), targetSize = checked((int)targetShape.ElementCount);
        var inputs = new float[(long)count * size];
        var targets = new float[(long)count * targetSize];
        Parallel.For(0, count, i => generate(i, inputs.AsSpan(i * size, size), targets.AsSpan(i * targetSize, targetSize)));
        return new Dataset(inputs, sampleShape, targets, targetShape, TargetKind.Values, [], source ?? "generated");
    }

    private static void CheckCount(int count)
    {
        if (count < 1) throw new ConvNetArgumentException($"A generated dataset needs at least one sample, got count {count}.", nameof(count));
    }

    // The per-sample shape of a batch shape (drops N), keeping the names.
    private static TensorShape SampleOf(TensorShape batch)
    {
        var dims = new int[batch.Rank - 1];
        var names = new string[batch.Rank - 1];
        for (int i = 1; i < batch.Rank; i++) { dims[i - 1] = batch[i]; names[i - 1] = batch.NameOf(i); }
        return new TensorShape(dims, names);
    }
}
