using ConvNet.Gpu.Cli.Reporting;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>The state shown after each training batch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Total epochs of the run.</param>
/// <param name="Batch">Batches of this epoch done so far (1-based count).</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">Mean training loss over this epoch's batches so far.</param>
/// <param name="Accuracy">Training accuracy over this epoch's batches so far (0..1).</param>
/// <param name="ImagesPerSecond">Training throughput over this epoch so far.</param>
/// <param name="Eta">Estimated time until the whole run finishes, evaluation included; null until measurable.</param>
internal readonly record struct ProgressLine(
    int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond, TimeSpan? Eta);

/// <summary>
/// How training progress is shown: live Spectre bars on a terminal (<see cref="LiveProgressView"/>) or plain lines
/// otherwise (<see cref="PlainProgressView"/>). Calls come from the training thread, in order.
/// </summary>
internal abstract class ProgressView
{
    /// <summary>Runs <paramref name="training"/> with the view active (live bars exist only during this call).</summary>
    public abstract void Run(Action training);

    /// <summary>An epoch starts; <paramref name="startBatch"/> is non-zero when a resumed run continues mid-epoch.</summary>
    public abstract void BeginEpoch(int epoch, int epochs, int batches, int startBatch);

    /// <summary>A training batch finished.</summary>
    public abstract void Batch(in ProgressLine progress);

    /// <summary>The test-set pass after an epoch starts.</summary>
    public abstract void Evaluating(int epoch);

    /// <summary>An epoch finished and was evaluated: one line per epoch.</summary>
    public abstract void EndEpoch(EpochRecord metrics, int epochs, bool isBest);

    /// <summary>A free-form line (checkpoint written, interruption...).</summary>
    public abstract void Message(string text);

    /// <summary>The one-line epoch summary both views print.</summary>
    public static string EpochLine(EpochRecord m, int epochs, bool isBest) =>
        FormattableString.Invariant(
            $"epoch {m.Epoch}/{epochs}  train loss {m.TrainLoss:0.0000} acc {m.TrainAccuracy * 100:0.00}%  |  test loss {m.TestLoss:0.0000} acc {m.TestAccuracy * 100:0.00}%  |  {m.Seconds:0.0} s, {m.ImagesPerSecond:N0} img/s{(isBest ? "  *best" : "")}");

    /// <summary>Formats an ETA as h:mm:ss (or "--" when unknown).</summary>
    public static string FormatEta(TimeSpan? eta) =>
        eta is not { } t ? "--:--"
        : t.TotalHours >= 100_000 ? ">100000 h" // years: hours:minutes would be noise (and overflow an int)
        : t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes:00}:{t.Seconds:00}";
}
