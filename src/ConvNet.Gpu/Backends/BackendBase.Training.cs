using System.Runtime.InteropServices;

namespace ConvNet.Gpu;

// The ops of a training step that keep the host out of the loop: queued uploads, dropout reading its seed and offset from
// device memory, the fused classification step with device-side metrics, and multi-tensor optimizer updates reading their
// step scalars (and the non-finite guard) from device memory. Argument checks here; the default implementations read the
// device values back (free on the CPU backend) and call the per-tensor Core ops, so the CPU backend keeps exactly its
// per-tensor arithmetic. The CUDA backend overrides every Core method with a kernel.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void QueueUpload(Tensor destination, ReadOnlySpan<float> source)
    {
        using var use = _use.Enter("QueueUpload");
        OpChecks.Float(this, "QueueUpload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"QueueUpload: source has {source.Length} floats but destination {destination.Shape} has {destination.ElementCount} elements.");
        QueueUploadCore(destination, MemoryMarshal.AsBytes(source));
    }

    /// <inheritdoc/>
    public void QueueUpload(Tensor destination, ReadOnlySpan<int> source)
    {
        using var use = _use.Enter("QueueUpload");
        OpChecks.Int(this, "QueueUpload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"QueueUpload: source has {source.Length} ints but destination {destination.Shape} has {destination.ElementCount} elements.");
        QueueUploadCore(destination, MemoryMarshal.AsBytes(source));
    }

    /// <summary>Queued upload without checks; by default the blocking upload (right for synchronous backends).</summary>
    protected virtual void QueueUploadCore(Tensor destination, ReadOnlySpan<byte> source) => UploadCore(destination, source);

    /// <inheritdoc/>
    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float p, Tensor seedAndOffset)
    {
        using var use = _use.Enter("DropoutForward");
        const string op = "DropoutForward";
        CheckDropout(op, x, y, mask, p);
        OpChecks.Int(this, op, "seedAndOffset", seedAndOffset);
        OpChecks.Count(op, "seedAndOffset", seedAndOffset, 4, "the seed and the offset (two 64-bit values)");
        DropoutForwardCore(x, y, mask, p, seedAndOffset);
    }

    /// <summary>Dropout with device seed and offset, without checks; by default reads them back and runs the host-argument form.</summary>
    protected virtual void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, Tensor seedAndOffset)
    {
        Span<int> words = stackalloc int[4];
        DownloadCore(seedAndOffset, MemoryMarshal.AsBytes(words));
        var (seed, offset) = DropoutRng.ReadSeedAndOffset(words);
        DropoutForwardCore(x, y, mask, p, seed, offset);
    }

    /// <inheritdoc/>
    public void ClassificationStep(Tensor logits, Tensor labels, ClassificationLossKind loss, float gamma, Tensor probabilities,
        Tensor losses, Tensor predictions, Tensor? gradLogits, ClassificationMetrics metrics, ClassificationStepMode mode)
    {
        using var use = _use.Enter("ClassificationStep");
        const string op = "ClassificationStep";
        ArgumentNullException.ThrowIfNull(metrics);
        CheckClassification(op, logits, labels, probabilities, losses);
        OpChecks.Int(this, op, "predictions", predictions);
        OpChecks.Count(op, "predictions", predictions, logits.Shape[0], $"one class per row of logits {logits.Shape}");
        if (gradLogits is not null)
        {
            OpChecks.Float(this, op, "gradLogits", gradLogits);
            OpChecks.Dims(op, "gradLogits", gradLogits, logits.Shape);
        }
        if (!Enum.IsDefined(loss)) throw new ConvNetArgumentException($"{op}: unknown loss kind {(int)loss}.", nameof(loss));
        if (!Enum.IsDefined(mode)) throw new ConvNetArgumentException($"{op}: unknown mode {(int)mode}.", nameof(mode));
        if (loss == ClassificationLossKind.Focal) CheckGamma(op, gamma);
        if (!ReferenceEquals(metrics.Backend, this))
            throw new ShapeMismatchException($"{op}: the metrics live on backend '{metrics.Backend.Name}', not on '{Name}'.");
        if (metrics.Classes != logits.Shape[1])
            throw new ShapeMismatchException($"{op}: the metrics are for {metrics.Classes} classes but logits {logits.Shape} have {logits.Shape[1]}.");
        ClassificationStepCore(logits, labels, loss, gamma, probabilities, losses, predictions, gradLogits, metrics, mode);
    }

    /// <summary>
    /// The classification step without checks. By default: the loss ops, then the metrics on the host from the downloaded
    /// losses, probabilities and labels (the arithmetic of cn_classify_step, done in the same order), uploaded back.
    /// </summary>
    protected virtual void ClassificationStepCore(Tensor logits, Tensor labels, ClassificationLossKind loss, float gamma,
        Tensor probabilities, Tensor losses, Tensor predictions, Tensor? gradLogits, ClassificationMetrics metrics, ClassificationStepMode mode)
    {
        int rows = logits.Shape[0], classes = logits.Shape[1];
        float scale = 1f / rows;
        if (loss == ClassificationLossKind.CrossEntropy) SoftmaxCrossEntropyForwardCore(logits, labels, probabilities, losses);
        else FocalLossForwardCore(logits, labels, gamma, probabilities, losses);
        if (gradLogits is not null)
        {
            if (loss == ClassificationLossKind.CrossEntropy) SoftmaxCrossEntropyBackwardCore(probabilities, labels, gradLogits, scale);
            else FocalLossBackwardCore(probabilities, labels, gamma, gradLogits, scale);
        }
        var hostLosses = new float[rows];
        var hostP = new float[(long)rows * classes];
        var hostLabels = new int[rows];
        var words = new int[metrics.Words];
        DownloadCore(losses, MemoryMarshal.AsBytes(hostLosses.AsSpan()));
        DownloadCore(probabilities, MemoryMarshal.AsBytes(hostP.AsSpan()));
        DownloadCore(labels, MemoryMarshal.AsBytes(hostLabels.AsSpan()));
        DownloadCore(metrics.Buffer, MemoryMarshal.AsBytes(words.AsSpan()));
        var predicted = new int[rows];
        for (int r = 0; r < rows; r++) predicted[r] = FirstLargest(hostP.AsSpan(r * classes, classes));
        ClassificationMetricsUpdate.Apply(words, metrics, hostLosses, predicted, hostLabels, mode);
        UploadCore(predictions, MemoryMarshal.AsBytes(predicted.AsSpan()));
        UploadCore(metrics.Buffer, MemoryMarshal.AsBytes(words.AsSpan()));
    }

    /// <summary>The first index of the largest value, scanning from index 0 and moving only on "strictly greater" (so NaNs never win and a NaN at 0 stays).</summary>
    internal static int FirstLargest(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    // ------------------------------------------------------------ multi-tensor optimizers

    /// <inheritdoc/>
    public ParameterTable CreateParameterTable(IReadOnlyList<IReadOnlyList<Tensor>> rows)
    {
        const string op = "CreateParameterTable";
        using var use = _use.Enter(op);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ConvNetArgumentException($"{op}: at least one row (parameter, gradient, state...) is needed.", nameof(rows));
        int columns = rows[0]?.Count ?? 0;
        if (columns is < 3 or > 4)
            throw new ConvNetArgumentException($"{op}: rows hold 3 (parameter, gradient, velocity) or 4 (parameter, gradient, m, v) tensors, got {columns}.", nameof(rows));
        var copy = new IReadOnlyList<Tensor>[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i] ?? throw new ArgumentNullException(nameof(rows), $"{op}: row {i} is null.");
            if (row.Count != columns) throw new ConvNetArgumentException($"{op}: row {i} has {row.Count} tensors but row 0 has {columns}.", nameof(rows));
            for (int c = 0; c < columns; c++)
            {
                OpChecks.Float(this, op, $"row {i} tensor {c}", row[c]);
                if (c > 0) OpChecks.SameCount(op, $"row {i} parameter", row[0], $"row {i} tensor {c}", row[c]);
            }
            copy[i] = row.ToArray();
        }
        return CreateParameterTableCore(copy);
    }

    /// <summary>Makes the table over checked rows; by default a plain list of the tensors.</summary>
    protected virtual ParameterTable CreateParameterTableCore(IReadOnlyList<IReadOnlyList<Tensor>> rows) => new(this, rows);

    /// <inheritdoc/>
    public void SgdStep(ParameterTable table, Tensor stepScalars, float momentum, float weightDecay, bool nesterov, Tensor? guard, bool skipNonFinite)
    {
        using var use = _use.Enter("SgdStep");
        const string op = "SgdStep";
        CheckTable(op, table, 3, "parameter, gradient, velocity");
        CheckStepTensors(op, stepScalars, guard);
        CheckSgdSettings(op, momentum, weightDecay, nesterov);
        SgdStepCore(table, stepScalars, momentum, weightDecay, nesterov, guard, skipNonFinite);
    }

    /// <inheritdoc/>
    public void AdamStep(ParameterTable table, Tensor stepScalars, float beta1, float beta2, float epsilon, float weightDecay,
        bool decoupledWeightDecay, Tensor? guard, bool skipNonFinite)
    {
        using var use = _use.Enter("AdamStep");
        const string op = "AdamStep";
        CheckTable(op, table, 4, "parameter, gradient, m, v");
        CheckStepTensors(op, stepScalars, guard);
        CheckAdamSettings(op, beta1, beta2, epsilon, weightDecay);
        AdamStepCore(table, stepScalars, beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, guard, skipNonFinite);
    }

    /// <summary>Multi-tensor SGD without checks; by default the per-tensor op for every row with the values read back.</summary>
    protected virtual void SgdStepCore(ParameterTable table, Tensor stepScalars, float momentum, float weightDecay, bool nesterov,
        Tensor? guard, bool skipNonFinite)
    {
        var (lr, _, skip) = ReadStepValues(stepScalars, guard, skipNonFinite);
        if (skip) return;
        foreach (var row in table.Rows) SgdStepCore(row[0], row[1], row[2], lr, momentum, weightDecay, nesterov);
    }

    /// <summary>Multi-tensor Adam without checks; by default the per-tensor op for every row with t = step - skipped steps.</summary>
    protected virtual void AdamStepCore(ParameterTable table, Tensor stepScalars, float beta1, float beta2, float epsilon,
        float weightDecay, bool decoupledWeightDecay, Tensor? guard, bool skipNonFinite)
    {
        var (lr, t, skip) = ReadStepValues(stepScalars, guard, skipNonFinite);
        if (skip) return;
        if (t < 1) throw new InvalidOperationException($"AdamStep: the step scalars give t = {t} (step minus skipped steps); it must be at least 1.");
        foreach (var row in table.Rows)
            AdamStepCore(row[0], row[1], row[2], row[3], lr, beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, t);
    }

    // (learning rate, t = step - skipped, whether the guard skips this update), read back from the device tensors.
    private (float LearningRate, int T, bool Skip) ReadStepValues(Tensor stepScalars, Tensor? guard, bool skipNonFinite)
    {
        Span<int> s = stackalloc int[StepScalars.Words];
        DownloadCore(stepScalars, MemoryMarshal.AsBytes(s));
        Span<int> g = stackalloc int[3];
        if (guard is not null) DownloadCore(guard, MemoryMarshal.AsBytes(g));
        else g.Clear();
        bool skip = g[2] != 0 || (skipNonFinite && g[1] != 0);
        return (BitConverter.Int32BitsToSingle(s[StepScalars.LearningRate]), s[StepScalars.Step] - g[0], skip);
    }

    private void CheckTable(string op, ParameterTable table, int columns, string what)
    {
        ArgumentNullException.ThrowIfNull(table);
        ObjectDisposedException.ThrowIf(table.IsDisposed, table);
        if (!ReferenceEquals(table.Backend, this))
            throw new ShapeMismatchException($"{op}: the parameter table lives on backend '{table.Backend.Name}', not on '{Name}'.");
        if (table.Columns != columns)
            throw new ShapeMismatchException($"{op}: expected a table of {columns} tensors per row ({what}), got {table.Columns}.");
    }

    private void CheckStepTensors(string op, Tensor stepScalars, Tensor? guard)
    {
        OpChecks.Int(this, op, "stepScalars", stepScalars);
        OpChecks.Count(op, "stepScalars", stepScalars, StepScalars.Words, "the step scalars (StepScalars)");
        if (guard is null) return;
        OpChecks.Int(this, op, "guard", guard);
        OpChecks.Count(op, "guard", guard, 3, "the guard words (ClassificationMetrics.Guard)");
    }
}
