using System.Diagnostics;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>
/// Estimates the time left in a run from the batches trained so far in this process (a resumed run measures afresh)
/// plus the measured duration of the per-epoch test passes.
/// </summary>
internal sealed class EtaEstimator(long totalBatches, int epochsLeftToEvaluate)
{
    private readonly Stopwatch _training = new();
    private long _batchesDone;
    private int _evaluationsLeft = epochsLeftToEvaluate;
    private double _evaluationSeconds = double.NaN;
    private long _remainingBatches = totalBatches;

    private static readonly double MaxSeconds = TimeSpan.MaxValue.TotalSeconds / 2;

    /// <summary>Starts or resumes the training clock (stopped during evaluation).</summary>
    public void StartTraining() => _training.Start();

    /// <summary>Counts one finished training batch.</summary>
    public void BatchDone()
    {
        _batchesDone++;
        _remainingBatches--;
    }

    /// <summary>Records one test pass and stops counting it as training time.</summary>
    public void EvaluationDone(double seconds)
    {
        _evaluationsLeft--;
        _evaluationSeconds = double.IsNaN(_evaluationSeconds) ? seconds : 0.5 * (_evaluationSeconds + seconds);
    }

    /// <summary>Pauses the training clock (evaluation, checkpointing).</summary>
    public void PauseTraining() => _training.Stop();

    /// <summary>Estimated time left, or null before the first few batches.</summary>
    public TimeSpan? Remaining
    {
        get
        {
            if (_batchesDone < 3) return null;
            double perBatch = _training.Elapsed.TotalSeconds / _batchesDone;
            double evaluation = double.IsNaN(_evaluationSeconds) ? perBatch * 20 : _evaluationSeconds; // guess until measured
            double seconds = Math.Max(0, _remainingBatches) * perBatch + Math.Max(0, _evaluationsLeft) * evaluation;
            // Runs of billions of epochs exceed TimeSpan (about 29,000 years); such an estimate is shown as its maximum.
            return seconds < MaxSeconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        }
    }
}
