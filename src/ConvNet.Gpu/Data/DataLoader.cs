namespace ConvNet.Gpu.Data;

/// <summary>
/// Cuts a <see cref="Dataset"/> into mini-batches, optionally shuffled and normalized. The sample order of epoch e
/// depends only on (<see cref="Seed"/>, e): a Fisher–Yates shuffle driven by a SplitMix64 generator seeded from both.
/// So a run resumed at epoch e, batch b sees exactly the batches it would have seen (use <see cref="Epoch(int, int)"/>).
/// </summary>
/// <remarks>
/// Each enumeration of <see cref="Epoch(int)"/> owns one set of batch buffers that it refills for every batch; a
/// <see cref="DataBatch"/>'s memory is only valid until the enumerator moves on. Separate enumerations do not share
/// buffers, so two may run concurrently.
/// </remarks>
public sealed class DataLoader
{
    /// <summary>Creates a loader.</summary>
    /// <param name="data">The samples to batch.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh seeded random order (else in dataset order).</param>
    /// <param name="seed">The shuffle seed.</param>
    /// <param name="dropLast">Whether to drop the last batch when it has fewer than <paramref name="batchSize"/> samples.</param>
    /// <param name="normalization">Applied to every batch's pixels, or null to pass them through.</param>
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

    /// <summary>The shuffle seed.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a last, partial batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>The normalization applied to every batch, or null.</summary>
    public Normalization? Normalization { get; }

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

    private readonly DataShard _shard = DataShard.Whole;

    /// <summary>Batches per epoch: ⌊Count / BatchSize⌋ with <see cref="DropLast"/>, else ⌈Count / BatchSize⌉.</summary>
    public int BatchesPerEpoch => DropLast ? Data.Count / BatchSize : (int)((Data.Count + (long)BatchSize - 1) / BatchSize);

    /// <summary>Samples visited per epoch (all of them, minus the dropped partial batch).</summary>
    public int SamplesPerEpoch => DropLast ? BatchesPerEpoch * BatchSize : Data.Count;

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
    /// <see cref="Epoch(int)"/> would yield after skipping <paramref name="startBatch"/> batches, without gathering the skipped ones.
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

        int sampleSize = Data.SampleSize;
        int total = Data.Count;
        int[] order = SampleOrder(epoch);

        // Without shuffling or normalization a batch is a contiguous slice of the dataset: hand it out without copying.
        bool zeroCopy = !Shuffle && Normalization is null;
        float[] images = zeroCopy ? [] : new float[Math.Min(BatchSize, total) * sampleSize];
        int[] labels = zeroCopy ? [] : new int[Math.Min(BatchSize, total)];

        ReadOnlyMemory<float> allImages = Data.Images;
        ReadOnlyMemory<int> allLabels = Data.Labels;
        for (int b = startBatch; b < batches; b++)
        {
            int globalStart = b * BatchSize;
            int globalCount = Math.Min(BatchSize, total - globalStart);
            var (offset, count) = _shard.Of(globalCount);
            int start = globalStart + offset;
            var indices = new ReadOnlyMemory<int>(order, start, count);
            if (zeroCopy)
            {
                yield return new DataBatch(b, epoch, Data.SampleShape,
                    allImages.Slice(start * sampleSize, count * sampleSize), allLabels.Slice(start, count), indices)
                    { GlobalCount = globalCount, ShardStart = offset };
                continue;
            }

            Gather(order.AsSpan(start, count), allImages.Span, allLabels.Span, images, labels, sampleSize);
            Normalization?.Apply(images.AsSpan(0, count * sampleSize));
            yield return new DataBatch(b, epoch, Data.SampleShape,
                new ReadOnlyMemory<float>(images, 0, count * sampleSize), new ReadOnlyMemory<int>(labels, 0, count), indices)
                { GlobalCount = globalCount, ShardStart = offset };
        }
    }

    // Copies the samples named by 'indices' into the front of the batch buffers, in that order.
    private static void Gather(ReadOnlySpan<int> indices, ReadOnlySpan<float> allImages, ReadOnlySpan<int> allLabels,
        Span<float> images, Span<int> labels, int sampleSize)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            int s = indices[i];
            allImages.Slice(s * sampleSize, sampleSize).CopyTo(images.Slice(i * sampleSize, sampleSize));
            labels[i] = allLabels[s];
        }
    }
}
