using ConvNet.Gpu.Cli.Engine;

namespace ConvNet.Gpu.Cli.Reporting;

/// <summary>Gathers what report.html shows from the trained model: a final test pass, mistakes and first-layer filters.</summary>
internal static class ReportBuilder
{
    /// <summary>How many misclassified images the report shows.</summary>
    public const int MisclassifiedShown = 40;

    /// <summary>Evaluates the final weights on the test set and collects the report's contents.</summary>
    public static ReportData Build(TrainingSession session, LoadedData data, RunMetrics metrics)
    {
        TestResult test = session.EvaluateWithPredictions(data.Test);
        return new ReportData
        {
            Metrics = metrics,
            ClassNames = data.Test.ClassNames,
            Confusion = test.Confusion,
            Misclassified = Mistakes(data.Test, test),
            FirstConvFilters = session.FirstConvFilters(data.Test, ProbeIndex(data.Test, test)),
            ModelSummary = session.Summary(),
            FinalTest = (test.Loss, test.Accuracy),
        };
    }

    /// <summary>The first test image the model classifies correctly (a clear example to show filter responses on).</summary>
    internal static int ProbeIndex(ConvNet.Gpu.Data.Dataset test, TestResult result)
    {
        ReadOnlySpan<int> labels = test.Labels.Span;
        for (int i = 0; i < test.Count; i++)
            if (result.Predicted[i] == labels[i]) return i;
        return 0;
    }

    /// <summary>The most confident mistakes first (ties by index), with their raw pixels.</summary>
    internal static IReadOnlyList<MisclassifiedExample> Mistakes(ConvNet.Gpu.Data.Dataset test, TestResult result)
    {
        ReadOnlySpan<int> labels = test.Labels.Span;
        var wrong = new List<int>();
        for (int i = 0; i < test.Count; i++)
            if (result.Predicted[i] != labels[i]) wrong.Add(i);
        int h = test.SampleShape[1], w = test.SampleShape[2], size = test.SampleSize;
        return wrong
            .OrderByDescending(i => result.Confidence[i]).ThenBy(i => i)
            .Take(MisclassifiedShown)
            .Select(i => new MisclassifiedExample(
                test.Images.Slice(i * size, h * w).ToArray(), h, w, test.Labels.Span[i], result.Predicted[i], result.Confidence[i], i))
            .ToList();
    }
}
