namespace ConvNet.Gpu.Data;

/// <summary>
/// Cuts a <see cref="Dataset"/> into mini-batches, optionally shuffled, transformed (augmentation, see
/// <see cref="Transforms"/>) and normalized, on <see cref="Workers"/> host threads that run ahead of the consumer.
/// The sample order of epoch e depends only on (<see cref="Seed"/>, e): a Fisher–Yates shuffle driven by a SplitMix64
/// generator seeded from both; each transform draw depends only on (Seed, e, sample index, step). So a run resumed at
/// epoch e, batch b sees exactly the batches it would have seen (use <see cref="Epoch(int, int)"/>), with any number of workers.
/// </summary>
/// <remarks>
/// <para>An enumeration of <see cref="Epoch(int)"/> owns a ring of batch buffers: a <see cref="DataBatch"/>'s memory is
/// only valid until the enumerator moves on. With <see cref="Workers"/> &gt; 0, that many background threads fill the
/// next <see cref="Prefetch"/> batches while the consumer works on the current one, so a training step does not wait
/// for the data unless the workers fall behind (<see cref="PipelineStatistics"/> says whether they did). Disposing
/// the enumerator (leaving a <c>foreach</c> early) stops and joins them. An exception thrown by a transform on a
/// worker is rethrown, unchanged, by the enumerator when it reaches that batch.</para>
/// <para>Separate enumerations do not share buffers, so two may run concurrently.</para>
/// </remarks>
public sealed class DataLoader
{
    private readonly DataShard _shard = DataShard.Whole;
    private readonly int _workers, _prefetch = 2;

    /// <summary>Creates a loader.</summary>
    /// <param name="data">The samples to batch.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh seeded random order (else in dataset order).</param>
    /// <param name="seed">The shuffle and augmentation seed.</param>
    /// <param name="dropLast">Whether to drop the last batch when it has fewer than <paramref name="batchSize"/> samples.</param>
    /// <param name="normalization">Applied to every batch's inputs after the transforms, or null to pass them through.</param>
    /// <exception cref="ConvNetArgumentException"><paramref name="batchSize"/> is below 1.</exception>
    public DataLoader(Dataset data, int batchSize, bool shuffle, ulong seed, bool dropLast = false, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1)
            throw new ConvNetArgumentException($"The batch size must be at least 1, got {batchSize}.", nameof(batchSize));
        Data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Normalization = normalization;
    }

    /// <summary>The dataset being batched.</summary>
    public Dataset Data { get; }

    /// <summary>Samples per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>The shuffle and augmentation seed.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a last, partial batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>The normalization applied to every batch after the transforms, or null.</summary>
    public Normalization? Normalization { get; }

    /// <summary>
    /// Per-sample transforms applied to every batch (null: none). Checked against the dataset's sample shape when set,
    /// so a transform that cannot take the samples fails here, before any batch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A transform does not accept the shape it would get.</exception>
    public TransformPipeline? Transforms
    {
        get => _transforms;
        init
        {
            if (value is not null)
            {
                _ = value.OutputShape(Data.SampleShape);
                _movesTarget = value.MovesTarget(Data.SampleShape, Data.TargetShape);
            }
            _transforms = value is { IsEmpty: false } ? value : null;
        }
    }

    private readonly TransformPipeline? _transforms;
    private readonly bool _movesTarget;

    /// <summary>
    /// Background threads that produce batches ahead of the consumer (0, the default: batches are made on the consumer's
    /// thread when it asks). The batches are the same whatever the count.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The count is negative or above 64.</exception>
    public int Workers
    {
        get => _workers;
        init => _workers = value is >= 0 and <= 64 ? value
            : throw new ConvNetArgumentException($"DataLoader workers must be in [0, 64], got {value}.", nameof(Workers));
    }

    /// <summary>How many batches the workers may have ready ahead of the one being consumed (default 2, at least 1).</summary>
    /// <exception cref="ConvNetArgumentException">The depth is below 1 or above 64.</exception>
    public int Prefetch
    {
        get => _prefetch;
        init => _prefetch = value is >= 1 and <= 64 ? value
            : throw new ConvNetArgumentException($"DataLoader prefetch must be in [1, 64], got {value}.", nameof(Prefetch));
    }

    /// <summary>
    /// The part of every global batch this loader hands out (<see cref="DataShard.Whole"/> by default): with a shard,
    /// <see cref="Epoch(int, int)"/> yields this rank's share of each global batch of <see cref="BatchSize"/>, and
    /// <see cref="DataBatch.GlobalCount"/> says how many samples the whole global batch has.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The rank is outside [0, world size).</exception>
    public DataShard Shard
    {
        get => _shard;
        init
        {
            value.Validate();
            _shard = value;
        }
    }

    /// <summary>The shape of one sample of a batch: the dataset's, changed by the transforms (e.g. a crop).</summary>
    public TensorShape SampleShape => _transforms?.OutputShape(Data.SampleShape) ?? Data.SampleShape;

    /// <summary>The shape of one float target of a batch (moved with the input by geometric transforms), or null for class labels.</summary>
    public TensorShape? TargetShape => _movesTarget ? _transforms!.TargetOutputShape(Data.SampleShape, Data.TargetShape!) : Data.TargetShape;

    /// <summary>Batches per epoch: ⌊Count / BatchSize⌋ with <see cref="DropLast"/>, else ⌈Count / BatchSize⌉.</summary>
    public int BatchesPerEpoch => DropLast ? Data.Count / BatchSize : (int)((Data.Count + (long)BatchSize - 1) / BatchSize);

    /// <summary>Samples visited per epoch (all of them, minus the dropped partial batch).</summary>
    public int SamplesPerEpoch => DropLast ? BatchesPerEpoch * BatchSize : Data.Count;

    /// <summary>How long the consumer waited for batches in the latest enumeration (see <see cref="PipelineStatistics"/>).</summary>
    public PipelineStatistics LastEpochStatistics => _statistics;

    private PipelineStatistics _statistics = new(0, 0, TimeSpan.Zero);

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the dataset: a permutation of 0..Count-1 that depends only on
    /// (Seed, epoch) when shuffling, the identity otherwise.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public int[] SampleOrder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[Data.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle) new ShuffleRng(Seed, epoch).Shuffle(order);
        return order;
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>, in order; see the class remarks on buffer reuse.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public IEnumerable<DataBatch> Epoch(int epoch) => Epoch(epoch, 0);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="startBatch"/> on, exactly those that
    /// <see cref="Epoch(int)"/> would yield after skipping <paramref name="startBatch"/> batches, without making the skipped ones.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative or <paramref name="startBatch"/> is not in [0, BatchesPerEpoch].</exception>
    public IEnumerable<DataBatch> Epoch(int epoch, int startBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startBatch, BatchesPerEpoch);
        return Batches(epoch, startBatch);
    }

    private IEnumerable<DataBatch> Batches(int epoch, int startBatch)
    {
        int batches = BatchesPerEpoch;
        if (startBatch >= batches) yield break;
        int[] order = SampleOrder(epoch);

        // Without shuffling, transforms or normalization a batch is a contiguous slice of the dataset: no copy.
        if (!Shuffle && Normalization is null && _transforms is null)
        {
            for (int b = startBatch; b < batches; b++) yield return Slice(b, epoch, order);
            yield break;
        }

        var assembler = new BatchAssembler(this, epoch, order);
        if (Workers == 0)
        {
            var slot = assembler.NewSlot();
            var sample = new TransformSample();
            for (int b = startBatch; b < batches; b++) yield return assembler.Fill(b, slot, sample);
            _statistics = new PipelineStatistics(batches - startBatch, 0, TimeSpan.Zero);
            yield break;
        }

        using var prefetcher = new BatchPrefetcher(assembler, startBatch, batches, Workers, Prefetch);
        for (int b = startBatch; b < batches; b++)
        {
            yield return prefetcher.Take(b);
            prefetcher.Release(b);
        }
        _statistics = prefetcher.Statistics;
    }

    // Batch b of an unshuffled, untransformed epoch, pointing into the dataset.
    private DataBatch Slice(int b, int epoch, int[] order)
    {
        var (globalStart, globalCount, offset, count) = Extent(b);
        int start = globalStart + offset;
        int size = Data.SampleSize, targetSize = Data.TargetSize;
        return new DataBatch(b, epoch, count, Data.SampleShape, Data.Images.Slice(start * size, count * size),
            Data.HasLabels ? Data.Labels.Slice(start, count) : default, Data.TargetShape,
            Data.HasLabels ? default : Data.Targets.Slice(start * targetSize, count * targetSize), new ReadOnlyMemory<int>(order, start, count))
        { GlobalCount = globalCount, ShardStart = offset };
    }

    /// <summary>Global batch b's first sample and size, and this shard's offset and size inside it.</summary>
    internal (int GlobalStart, int GlobalCount, int Offset, int Count) Extent(int b)
    {
        int globalStart = b * BatchSize;
        int globalCount = Math.Min(BatchSize, Data.Count - globalStart);
        var (offset, count) = _shard.Of(globalCount);
        return (globalStart, globalCount, offset, count);
    }

    internal TransformPipeline? Pipeline => _transforms;

    internal bool MovesTarget => _movesTarget;
}

/// <summary>
/// How an epoch's batch production kept up with its consumer: <see cref="Batches"/> made, how many of them the consumer
/// had to wait for (<see cref="Waited"/>, after the first, which it always waits for), and for how long in total.
/// </summary>
/// <param name="Batches">Batches handed out.</param>
/// <param name="Waited">Batches, after the first, that were not ready when the consumer asked.</param>
/// <param name="WaitTime">Total time the consumer blocked waiting, the first batch included.</param>
public sealed record PipelineStatistics(int Batches, int Waited, TimeSpan WaitTime);
