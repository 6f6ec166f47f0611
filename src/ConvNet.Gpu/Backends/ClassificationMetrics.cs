using System.Runtime.InteropServices;

namespace ConvNet.Gpu;

/// <summary>Which classification loss <see cref="IBackend.ClassificationStep"/> computes.</summary>
public enum ClassificationLossKind
{
    /// <summary>Softmax cross-entropy: -log p[label].</summary>
    CrossEntropy,

    /// <summary>Focal loss: -(1 - p[label])^gamma * log p[label].</summary>
    Focal,
}

/// <summary>How <see cref="IBackend.ClassificationStep"/> treats the batch.</summary>
public enum ClassificationStepMode
{
    /// <summary>Evaluation: accumulate seen, correct, loss sum and confusion; no step record, no guard.</summary>
    Evaluate,

    /// <summary>Training: record the step; the first non-finite mean loss sets the stop word, after which no update runs.</summary>
    TrainStopOnNonFinite,

    /// <summary>Training: record the step; a non-finite mean loss skips this step's update (and is counted as skipped).</summary>
    TrainSkipNonFinite,
}

/// <summary>
/// Loss sums, correct counts, the confusion matrix, per-step losses and the non-finite guard of a classifier's training
/// (or evaluation), kept in ONE Int32 tensor on the backend so the host never waits per step: the device updates it in
/// <see cref="IBackend.ClassificationStep"/>, and <see cref="Read"/> downloads all of it at once when the host wants
/// numbers (at the end of an epoch, at progress intervals). Layout (kernels/cn_step_state.cuh): guard and counters, then
/// the epoch region (<see cref="ResetEpoch"/> zeroes it: seen, correct, the float64 loss sum, the confusion matrix), then a
/// ring of <see cref="Capacity"/> per-step slots (mean loss and correct count of recorded step i in slot i % Capacity).
/// </summary>
public sealed class ClassificationMetrics : IDisposable
{
    internal const int StepsWord = 0, SkippedWord = 1, NonFiniteWord = 2, StopWord = 3, FirstBadWord = 4;
    internal const int EpochWord = 8, SeenWord = 8, CorrectWord = 9, LossSumWord = 10, ConfusionWord = 16;

    private readonly Tensor _buffer;
    private readonly Tensor _guard;

    /// <summary>Allocates the buffer (zeroed) for <paramref name="classes"/> classes and a ring of <paramref name="capacity"/> steps.</summary>
    public ClassificationMetrics(IBackend backend, int classes, int capacity)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (classes < 1) throw new ConvNetArgumentException($"ClassificationMetrics: classes must be at least 1, got {classes}.", nameof(classes));
        if (capacity < 1) throw new ConvNetArgumentException($"ClassificationMetrics: capacity must be at least 1, got {capacity}.", nameof(capacity));
        if ((long)classes * classes > 1 << 26)
            throw new ConvNetArgumentException($"ClassificationMetrics: {classes} classes need a {classes}x{classes} confusion matrix; at most 8,192 classes are supported.", nameof(classes));
        Backend = backend;
        Classes = classes;
        Capacity = capacity;
        RingWord = ConfusionWord + ((classes * classes + 1) & ~1);
        Words = RingWord + 2 * capacity;
        using (var scope = new TensorScope()) _buffer = scope.Keep(backend.Allocate(TensorShape.Vector(Words), DataType.Int32));
        _guard = _buffer.View(TensorShape.Vector(3), SkippedWord);
    }

    /// <summary>The backend holding the buffer.</summary>
    public IBackend Backend { get; }

    /// <summary>Number of classes (the confusion matrix is Classes x Classes).</summary>
    public int Classes { get; }

    /// <summary>Steps the ring keeps; read at least this often (in steps) to see every step's loss.</summary>
    public int Capacity { get; }

    /// <summary>Int32 words of the buffer.</summary>
    public int Words { get; }

    internal int RingWord { get; }

    /// <summary>The whole buffer (Int32), as the kernels see it.</summary>
    internal Tensor Buffer => _buffer;

    /// <summary>
    /// The three guard words the multi-tensor optimizers read (<see cref="IBackend.SgdStep(ParameterTable, Tensor, float, float, bool, Tensor?, bool)"/>):
    /// skipped steps, this step non-finite, stop.
    /// </summary>
    public Tensor Guard => _guard;

    /// <summary>Queues the zeroing of the epoch region (seen, correct, loss sum, confusion); the guard and the ring are kept.</summary>
    public void ResetEpoch()
    {
        using var region = _buffer.View(TensorShape.Vector(RingWord - EpochWord), EpochWord);
        if (Backend is BackendBase b) b.ZeroWords(region);
        else Backend.Upload(region, new int[region.ElementCount]);
    }

    /// <summary>Downloads the buffer (one device-to-host copy; the host waits for the queued work) and decodes it.</summary>
    public MetricsSnapshot Read()
    {
        var words = new int[Words];
        _buffer.Download(words);
        return new MetricsSnapshot(words, Classes, Capacity, RingWord);
    }

    /// <summary>Replaces the buffer's contents (e.g. to restore or to test); Int32 words in the layout above.</summary>
    public void Write(ReadOnlySpan<int> words)
    {
        if (words.Length != Words) throw new ShapeMismatchException($"ClassificationMetrics.Write: expected {Words} words, got {words.Length}.");
        _buffer.Upload(words);
    }

    /// <summary>Frees the buffer.</summary>
    public void Dispose()
    {
        _guard.Dispose();
        _buffer.Dispose();
    }
}

/// <summary>The decoded contents of a <see cref="ClassificationMetrics"/> buffer at one <see cref="ClassificationMetrics.Read"/>.</summary>
public sealed class MetricsSnapshot
{
    private readonly int[] _words;
    private readonly int _ring;

    internal MetricsSnapshot(int[] words, int classes, int capacity, int ring)
    {
        _words = words;
        _ring = ring;
        Classes = classes;
        Capacity = capacity;
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Steps the ring keeps.</summary>
    public int Capacity { get; }

    /// <summary>Training steps recorded since the buffer was created.</summary>
    public int StepsRecorded => _words[ClassificationMetrics.StepsWord];

    /// <summary>Steps whose update the device skipped for a non-finite loss (SkipUpdate).</summary>
    public int SkippedSteps => _words[ClassificationMetrics.SkippedWord];

    /// <summary>Whether a non-finite loss stopped the updates (Throw).</summary>
    public bool Stopped => _words[ClassificationMetrics.StopWord] != 0;

    /// <summary>Index (in recorded steps) of the first non-finite loss under the stop policy, or null.</summary>
    public int? FirstNonFiniteStep => _words[ClassificationMetrics.FirstBadWord] == 0 ? null : _words[ClassificationMetrics.FirstBadWord] - 1;

    /// <summary>Samples counted since the last epoch reset (non-finite training steps excluded).</summary>
    public int Seen => _words[ClassificationMetrics.SeenWord];

    /// <summary>Of those, samples whose most probable class was the label.</summary>
    public int Correct => _words[ClassificationMetrics.CorrectWord];

    /// <summary>Sum over counted batches of mean loss times batch size, in float64.</summary>
    public double LossSum => MemoryMarshal.Cast<int, double>(_words.AsSpan(ClassificationMetrics.LossSumWord, 2))[0];

    /// <summary>Counts since the last epoch reset, row = label, column = predicted class (Classes x Classes, row-major).</summary>
    public ReadOnlySpan<int> Confusion => _words.AsSpan(ClassificationMetrics.ConfusionWord, Classes * Classes);

    /// <summary>Whether recorded step <paramref name="step"/> is still in the ring.</summary>
    public bool HasStep(int step) => step >= 0 && step < StepsRecorded && step >= StepsRecorded - Capacity;

    /// <summary>The mean loss of recorded step <paramref name="step"/> (exactly the value the host would compute from the per-sample losses).</summary>
    public float StepLoss(int step) => BitConverter.Int32BitsToSingle(_words[_ring + Slot(step)]);

    /// <summary>Correct predictions in recorded step <paramref name="step"/>.</summary>
    public int StepCorrect(int step) => _words[_ring + Capacity + Slot(step)];

    private int Slot(int step)
    {
        if (!HasStep(step))
            throw new ArgumentOutOfRangeException(nameof(step), step,
                $"Step {step} is not in the ring: {StepsRecorded} steps recorded, the last {Capacity} are kept.");
        return step % Capacity;
    }
}
