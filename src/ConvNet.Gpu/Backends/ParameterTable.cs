namespace ConvNet.Gpu;

/// <summary>
/// The tensors one multi-tensor optimizer launch updates: one row per parameter, each row
/// (parameter, gradient, state 0[, state 1]) of equal element counts, all Float32 on one backend. Made once per
/// optimizer and parameter list by <see cref="IBackend.CreateParameterTable"/>; a CUDA backend keeps a device table of
/// the rows' addresses and sizes, so the update is one kernel whatever the number of parameters. The table refers to
/// the tensors, it does not own them: dispose the table before or with them.
/// </summary>
public class ParameterTable : IDisposable
{
    /// <summary>Creates the table over validated rows (use <see cref="IBackend.CreateParameterTable"/>).</summary>
    protected internal ParameterTable(IBackend backend, IReadOnlyList<IReadOnlyList<Tensor>> rows)
    {
        Backend = backend;
        Rows = rows;
        Columns = rows[0].Count;
        ElementCount = rows.Sum(r => r[0].ElementCount);
    }

    /// <summary>The backend the tensors live on.</summary>
    public IBackend Backend { get; }

    /// <summary>The rows: (parameter, gradient, state...) per parameter, in update order.</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> Rows { get; }

    /// <summary>Tensors per row (3 for SGD: parameter, gradient, velocity; 4 for Adam: parameter, gradient, m, v).</summary>
    public int Columns { get; }

    /// <summary>Parameter elements over all rows.</summary>
    public long ElementCount { get; }

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Releases the device table (the tensors are untouched).</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Override to release backend resources.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>
/// The layout of the small Int32 tensor holding an optimizer step's changing values, read by the multi-tensor update
/// (kernels/cn_step_state.cuh): word 0 the learning rate (float bits), word 1 the step number t (1-based, every step
/// issued; Adam subtracts the steps skipped on the device, see <see cref="ClassificationMetrics.Guard"/>). The host writes
/// it before each step with <see cref="IBackend.QueueUpload(Tensor, ReadOnlySpan{int})"/>, so a replayed CUDA graph reads the new values.
/// </summary>
public static class StepScalars
{
    /// <summary>Words in the tensor.</summary>
    public const int Words = 4;

    /// <summary>Word of the learning rate.</summary>
    public const int LearningRate = 0;

    /// <summary>Word of the step number.</summary>
    public const int Step = 1;

    /// <summary>Encodes (learning rate, step) into <paramref name="words"/> (length <see cref="Words"/>).</summary>
    public static void Write(Span<int> words, float learningRate, int step)
    {
        if (words.Length != Words) throw new ArgumentException($"Step scalars need {Words} words, got {words.Length}.", nameof(words));
        words.Clear();
        words[LearningRate] = BitConverter.SingleToInt32Bits(learningRate);
        words[Step] = step;
    }
}
