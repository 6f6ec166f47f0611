namespace ConvNet.Gpu.Data;

/// <summary>
/// Makes the batches of one epoch of a <see cref="DataLoader"/>: gathers batch b's samples in the epoch's order into a
/// slot's buffers, runs the transforms per sample, and applies the loader's normalization. Thread-safe for distinct
/// slots and transform samples (each worker brings its own), since it only reads the dataset and the order.
/// </summary>
internal sealed class BatchAssembler(DataLoader loader, int epoch, int[] order)
{
    private readonly Dataset _data = loader.Data;
    private readonly TensorShape _sampleShape = loader.SampleShape;
    private readonly TensorShape? _targetShape = loader.TargetShape;

    /// <summary>The buffers of one batch, reused for every batch that goes through them.</summary>
    internal sealed class Slot(int batch, int sampleSize, int targetSize, bool labels)
    {
        public readonly float[] Images = new float[batch * sampleSize];
        public readonly int[] Labels = labels ? new int[batch] : [];
        public readonly float[] Targets = labels ? [] : new float[batch * targetSize];
    }

    public Slot NewSlot()
    {
        int batch = Math.Min(loader.BatchSize, _data.Count);
        return new Slot(batch, (int)_sampleShape.ElementCount, _targetShape is null ? 0 : (int)_targetShape.ElementCount, _data.HasLabels);
    }

    /// <summary>Fills <paramref name="slot"/> with batch <paramref name="b"/> and describes it.</summary>
    public DataBatch Fill(int b, Slot slot, TransformSample sample)
    {
        var (globalStart, globalCount, offset, count) = loader.Extent(b);
        int start = globalStart + offset;
        var indices = order.AsSpan(start, count);
        int size = (int)_sampleShape.ElementCount, targetSize = _targetShape is null ? 0 : (int)_targetShape.ElementCount;
        int inSize = _data.SampleSize, inTargetSize = _data.TargetSize;
        ReadOnlySpan<float> images = _data.Images.Span;
        ReadOnlySpan<float> targets = _data.HasLabels ? default : _data.Targets.Span;
        ReadOnlySpan<int> labels = _data.HasLabels ? _data.Labels.Span : default;
        var pipeline = loader.Pipeline;
        for (int i = 0; i < count; i++)
        {
            int s = indices[i];
            var target = _data.HasLabels ? default : targets.Slice(s * inTargetSize, inTargetSize);
            if (_data.HasLabels) slot.Labels[i] = labels[s];
            if (pipeline is null)
            {
                images.Slice(s * inSize, inSize).CopyTo(slot.Images.AsSpan(i * size, size));
                target.CopyTo(slot.Targets.AsSpan(i * targetSize, targetSize));
                continue;
            }
            sample.Load(s, epoch, images.Slice(s * inSize, inSize), _data.SampleShape, target, loader.MovesTarget ? _data.TargetShape : null);
            pipeline.Apply(sample, loader.Seed);
            if (!sample.Shape.SameDimensions(_sampleShape))
                throw new InvalidOperationException($"The transforms ({pipeline}) promised samples of {_sampleShape} but made {sample.Shape}.");
            sample.Input.CopyTo(slot.Images.AsSpan(i * size, size));
            (loader.MovesTarget ? (ReadOnlySpan<float>)sample.Target : target).CopyTo(slot.Targets.AsSpan(i * targetSize, targetSize));
        }
        loader.Normalization?.Apply(slot.Images.AsSpan(0, count * size));
        return new DataBatch(b, epoch, count, _sampleShape, new ReadOnlyMemory<float>(slot.Images, 0, count * size),
            _data.HasLabels ? new ReadOnlyMemory<int>(slot.Labels, 0, count) : default, _targetShape,
            _data.HasLabels ? default : new ReadOnlyMemory<float>(slot.Targets, 0, count * targetSize), new ReadOnlyMemory<int>(order, start, count))
        { GlobalCount = globalCount, ShardStart = offset };
    }
}
