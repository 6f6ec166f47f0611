using ConvNet.Gpu.Losses;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Scores predictions against targets for the accuracy the trainer reports (per batch, per epoch, in evaluation).
/// <see cref="Accumulate"/> runs after every forward pass and the loss on the same batch; it may keep its running
/// counts on the device. <see cref="Read"/> returns what was accumulated since the previous read and starts over, so
/// the trainer decides when to pay for the host round trip.
/// </summary>
public abstract class AccuracyMetric : IDisposable
{
    /// <summary>Adds one batch: the model's <paramref name="predictions"/>, the <paramref name="targets"/>, and the loss that just ran on them.</summary>
    public abstract void Accumulate(Tensor predictions, Tensor targets, Loss loss);

    /// <summary>Correct predictions and predictions made since the previous read (both 0 when nothing was scored).</summary>
    public abstract (long Correct, long Total) Read();

    /// <summary>
    /// The metric that fits <paramref name="loss"/>: class accuracy for a <see cref="ClassificationLoss"/>, element
    /// accuracy for <see cref="BinaryCrossEntropyWithLogitsLoss"/> (pixel accuracy for masks), none otherwise.
    /// </summary>
    public static AccuracyMetric For(Loss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return loss switch
        {
            ClassificationLoss => new ClassAccuracy(),
            BinaryCrossEntropyWithLogitsLoss => new BinaryAccuracy(),
            _ => new NoAccuracy(),
        };
    }

    /// <summary>Frees what the metric holds on the device.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>A metric that scores each batch on the host and keeps the running counts until read.</summary>
public abstract class HostAccuracy : AccuracyMetric
{
    private long _correct, _total;

    /// <summary>Adds <paramref name="correct"/> correct predictions out of <paramref name="total"/>.</summary>
    protected void Count(long correct, long total)
    {
        _correct += correct;
        _total += total;
    }

    /// <inheritdoc/>
    public sealed override (long Correct, long Total) Read()
    {
        var result = (_correct, _total);
        _correct = _total = 0;
        return result;
    }
}

/// <summary>
/// Top-1 accuracy of a classifier: the arg-max of the loss's softmax probabilities (first index on ties) against the
/// int32 labels. Scores on the host (downloads N x classes probabilities and N labels per batch).
/// </summary>
public sealed class ClassAccuracy : HostAccuracy
{
    private float[] _probabilities = [];
    private int[] _labels = [];

    /// <inheritdoc/>
    /// <exception cref="ConvNetArgumentException"><paramref name="loss"/> is not a <see cref="ClassificationLoss"/>.</exception>
    public override void Accumulate(Tensor predictions, Tensor targets, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var probabilities = (loss as ClassificationLoss ?? throw new ConvNetArgumentException(
            $"Class accuracy needs the probabilities of a classification loss, got '{loss.Name}'.", nameof(loss))).Probabilities;
        int n = probabilities.Shape[0], classes = probabilities.Shape[1];
        if (_probabilities.Length < n * classes) _probabilities = new float[n * classes];
        if (_labels.Length < n) _labels = new int[n];
        probabilities.Download(_probabilities.AsSpan(0, n * classes));
        targets.Download(_labels.AsSpan(0, n));
        int correct = 0;
        for (int i = 0; i < n; i++)
            if (ArgMax.Of(_probabilities.AsSpan(i * classes, classes)) == _labels[i]) correct++;
        Count(correct, n);
    }
}

/// <summary>
/// Element accuracy of binary predictions given as logits: an element is predicted positive when its logit is above 0
/// (σ(z) &gt; 1/2) and counts as correct when that matches target &gt; 1/2. For masks it is the pixel accuracy. Scores on
/// the host (downloads the predictions and targets per batch).
/// </summary>
public sealed class BinaryAccuracy : HostAccuracy
{
    private float[] _z = [], _t = [];

    /// <inheritdoc/>
    public override void Accumulate(Tensor predictions, Tensor targets, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.ElementCount != predictions.ElementCount)
            throw new ShapeMismatchException($"Binary accuracy: {targets} does not match the predictions {predictions.Shape}.");
        int count = checked((int)predictions.ElementCount);
        if (_z.Length != count)
        {
            _z = new float[count];
            _t = new float[count];
        }
        predictions.Download(_z);
        targets.Download(_t);
        long correct = 0;
        for (int i = 0; i < count; i++)
            if (_z[i] > 0f == _t[i] > 0.5f) correct++;
        Count(correct, count);
    }
}

/// <summary>No accuracy: for losses without a notion of a correct prediction (e.g. regression); reads (0, 0).</summary>
public sealed class NoAccuracy : AccuracyMetric
{
    /// <inheritdoc/>
    public override void Accumulate(Tensor predictions, Tensor targets, Loss loss) { }

    /// <inheritdoc/>
    public override (long Correct, long Total) Read() => (0, 0);
}

/// <summary>The arg-max rule every prediction uses: the first index of the largest value (NaN never wins).</summary>
internal static class ArgMax
{
    public static int Of(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }
}
