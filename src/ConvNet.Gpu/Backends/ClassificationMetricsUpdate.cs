using System.Runtime.InteropServices;

namespace ConvNet.Gpu;

/// <summary>
/// The metrics update of one classification batch on host words, exactly as kernels/softmax_loss.cu's cn_classify_step
/// does it on the device (the default <see cref="BackendBase"/> implementation uses it, so the CPU backend's numbers are
/// the host arithmetic the trainer always used): the mean loss as a float of the float64 sum in row order; in the
/// training modes the ring slot, the non-finite word and stop or skipped; then, for a counted batch, seen, correct,
/// loss sum (mean * rows, float64) and the confusion counts.
/// </summary>
internal static class ClassificationMetricsUpdate
{
    public static void Apply(Span<int> words, ClassificationMetrics metrics, ReadOnlySpan<float> losses, ReadOnlySpan<int> predicted,
        ReadOnlySpan<int> labels, ClassificationStepMode mode)
    {
        int rows = losses.Length, classes = metrics.Classes;
        double sum = 0;
        int correct = 0;
        for (int r = 0; r < rows; r++)
        {
            sum += losses[r];
            if (predicted[r] == labels[r]) correct++;
        }
        float mean = (float)(sum / rows);
        bool finite = float.IsFinite(mean);
        bool counted = mode == ClassificationStepMode.Evaluate || finite;
        if (mode != ClassificationStepMode.Evaluate)
        {
            int step = words[ClassificationMetrics.StepsWord];
            int slot = step % metrics.Capacity;
            words[metrics.RingWord + slot] = BitConverter.SingleToInt32Bits(mean);
            words[metrics.RingWord + metrics.Capacity + slot] = correct;
            words[ClassificationMetrics.StepsWord] = step + 1;
            words[ClassificationMetrics.NonFiniteWord] = finite ? 0 : 1;
            if (!finite && mode == ClassificationStepMode.TrainStopOnNonFinite && words[ClassificationMetrics.StopWord] == 0)
            {
                words[ClassificationMetrics.StopWord] = 1;
                words[ClassificationMetrics.FirstBadWord] = step + 1;
            }
            if (!finite && mode == ClassificationStepMode.TrainSkipNonFinite) words[ClassificationMetrics.SkippedWord]++;
        }
        if (!counted) return;
        words[ClassificationMetrics.SeenWord] += rows;
        words[ClassificationMetrics.CorrectWord] += correct;
        MemoryMarshal.Cast<int, double>(words.Slice(ClassificationMetrics.LossSumWord, 2))[0] += (double)mean * rows;
        for (int r = 0; r < rows; r++)
            if ((uint)labels[r] < (uint)classes) words[ClassificationMetrics.ConfusionWord + labels[r] * classes + predicted[r]]++;
    }
}
