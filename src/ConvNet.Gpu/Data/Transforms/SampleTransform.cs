using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// One step of a <see cref="TransformPipeline"/>: a per-sample augmentation or preprocessing step on the host (random
/// crop, flip, erasing, per-channel normalization, or your own). A transform must be deterministic given the random
/// generator it is handed: the pipeline gives every (seed, epoch, sample, step) its own generator, so an epoch's
/// augmented batches are the same whatever the number of worker threads, and a run resumed mid-epoch sees exactly the
/// batches it would have seen.
/// </summary>
/// <remarks>
/// <para>Geometric transforms (<see cref="IsGeometric"/>: crops, flips) are applied with the same random draws to a
/// spatial target, i.e. a float target (Ct, H, W) with the input's height and width (a segmentation mask, an
/// autoencoder's image), so image and mask stay aligned. Other transforms (erasing, normalization) change the input only:
/// an autoencoder trained on erased inputs learns to restore the clean image.</para>
/// <para>Instances are shared by the loader's worker threads: keep no per-call state in fields.</para>
/// </remarks>
public abstract class SampleTransform
{
    /// <summary>A short description, e.g. "random_crop(32x32, padding 4)".</summary>
    public abstract string Name { get; }

    /// <summary>Whether the transform moves pixels, and so is applied to a spatial target too (default false).</summary>
    public virtual bool IsGeometric => false;

    /// <summary>
    /// The sample shape this transform produces from <paramref name="input"/> (default: the same); throws when it cannot
    /// take that shape, so a pipeline fails when the loader is made, before any batch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The transform does not accept <paramref name="input"/>.</exception>
    public virtual TensorShape OutputShape(TensorShape input) => input;

    /// <summary>Transforms one sample in place (or through <see cref="TransformSample.NewInput"/> when the shape changes).</summary>
    /// <param name="sample">The sample, its shape, and its spatial target if it has one.</param>
    /// <param name="random">This sample's and this step's own generator.</param>
    public abstract void Apply(TransformSample sample, HostRandom random);

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Throws unless <paramref name="shape"/> is an image (C, H, W).</summary>
    protected void RequireImage(TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank != 3)
            throw new ShapeMismatchException($"Transform {Name} needs image samples (C, H, W), got {shape}.");
    }
}

/// <summary>
/// The sample a <see cref="SampleTransform"/> works on: its input and, when it has one, its spatial target, in buffers
/// owned by one worker of the loader and reused for every sample it handles.
/// </summary>
public sealed class TransformSample
{
    private float[] _input = [], _inputSpare = [], _target = [], _targetSpare = [];
    private TensorShape? _pendingInput, _pendingTarget;

    internal TransformSample() => Shape = TensorShape.Vector(1);

    /// <summary>The dataset index of the sample.</summary>
    public int Index { get; private set; }

    /// <summary>The epoch being produced.</summary>
    public int Epoch { get; private set; }

    /// <summary>The input's current shape (C, H, W) or other.</summary>
    public TensorShape Shape { get; private set; }

    /// <summary>The input's values, <see cref="Shape"/> row-major.</summary>
    public Span<float> Input => _input.AsSpan(0, (int)Shape.ElementCount);

    /// <summary>The spatial target's shape (Ct, H, W), or null when the sample has none (class labels, vectors...).</summary>
    public TensorShape? TargetShape { get; private set; }

    /// <summary>The spatial target's values (empty when <see cref="TargetShape"/> is null).</summary>
    public Span<float> Target => TargetShape is null ? [] : _target.AsSpan(0, (int)TargetShape.ElementCount);

    /// <summary>
    /// A buffer for a new input of <paramref name="shape"/>, for a transform that changes the shape; <see cref="Commit"/>
    /// makes it the sample's input. <see cref="Input"/> stays readable until then.
    /// </summary>
    public Span<float> NewInput(TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        _pendingInput = shape;
        return Fit(ref _inputSpare, shape);
    }

    /// <summary>A buffer for a new spatial target of <paramref name="shape"/>; see <see cref="NewInput"/>.</summary>
    /// <exception cref="InvalidOperationException">The sample has no spatial target.</exception>
    public Span<float> NewTarget(TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (TargetShape is null) throw new InvalidOperationException("This sample has no spatial target.");
        _pendingTarget = shape;
        return Fit(ref _targetSpare, shape);
    }

    /// <summary>Makes the buffers asked for with <see cref="NewInput"/> and <see cref="NewTarget"/> the sample's own.</summary>
    public void Commit()
    {
        if (_pendingInput is { } input)
        {
            (_input, _inputSpare) = (_inputSpare, _input);
            Shape = input;
            _pendingInput = null;
        }
        if (_pendingTarget is { } target)
        {
            (_target, _targetSpare) = (_targetSpare, _target);
            TargetShape = target;
            _pendingTarget = null;
        }
    }

    // Loads one sample: its input and (when spatial) its target.
    internal void Load(int index, int epoch, ReadOnlySpan<float> input, TensorShape shape, ReadOnlySpan<float> target, TensorShape? targetShape)
    {
        Index = index;
        Epoch = epoch;
        Shape = shape;
        input.CopyTo(Fit(ref _input, shape));
        TargetShape = targetShape;
        if (targetShape is not null) target.CopyTo(Fit(ref _target, targetShape));
        _pendingInput = _pendingTarget = null;
    }

    internal void CheckCommitted(SampleTransform step)
    {
        if (_pendingInput is not null || _pendingTarget is not null)
            throw new InvalidOperationException($"Transform {step.Name} asked for a new buffer but did not call Commit().");
    }

    private static Span<float> Fit(ref float[] buffer, TensorShape shape)
    {
        int n = checked((int)shape.ElementCount);
        if (buffer.Length < n) buffer = new float[n];
        return buffer.AsSpan(0, n);
    }
}
