using Xunit;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Cli.Reporting;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>report.html on hand-made data: self-contained, and showing curves, confusion counts, mistakes and filters.</summary>
public sealed class ReportHtmlTests
{
    private static readonly string[] Classes = ["T-shirt/top", "Trouser", "Pullover"];

    private static ReportData Sample(int epochs)
    {
        var metrics = new RunMetrics
        {
            Model = "lenet5", Device = "CPU", DeviceReason = "requested with --device cpu", ParameterCount = 61706, Seed = 7,
            Optimizer = "adam", LearningRate = 1e-3, BatchSize = 64, Dataset = "test data", TrainImages = 100, TestImages = 30, EpochsRequested = epochs,
        };
        for (int e = 1; e <= epochs; e++)
            metrics.Epochs.Add(new EpochRecord(e, 1.0 / e, 0.5 + 0.1 * e, 1.2 / e, 0.45 + 0.1 * e, 2.5, 1000 * e));
        var confusion = new long[,] { { 9, 1, 0 }, { 0, 10, 0 }, { 3, 0, 7 } };
        var image = new float[28 * 28];
        image[0] = 1f;
        var weights = Enumerable.Range(0, 6 * 25).Select(i => (float)Math.Sin(i)).ToArray();
        return new ReportData
        {
            Metrics = metrics,
            ClassNames = Classes,
            Confusion = confusion,
            Misclassified = [new MisclassifiedExample(image, 28, 28, 2, 0, 0.91f, 17), new MisclassifiedExample(image, 28, 28, 0, 1, 0.6f, 3)],
            FirstConvFilters = new FilterBank("conv1 (Conv2D)", weights, 6, 1, 5, 5),
            ModelSummary = "Layer  Output  Params",
            FinalTest = (0.5, 26.0 / 30),
        };
    }

    [Fact]
    public void Is_one_self_contained_page()
    {
        string html = ReportHtml.Build(Sample(3));

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html);
        // The only URL allowed is the SVG namespace identifier; every image is a data: URI.
        var urls = Regex.Matches(html, "https?://[^\"' )]+").Select(m => m.Value).Distinct().ToArray();
        Assert.Equal(["http://www.w3.org/2000/svg"], urls);
        foreach (Match src in Regex.Matches(html, "src=\"([^\"]*)\""))
            Assert.StartsWith("data:image/png;base64,", src.Groups[1].Value);
    }

    [Fact]
    public void Shows_curves_confusion_mistakes_and_filters()
    {
        string html = ReportHtml.Build(Sample(3));

        // Two charts (loss, accuracy) with a train and a test line each, 3 points per line.
        Assert.Equal(2, Regex.Matches(html, "<svg ").Count);
        var lines = Regex.Matches(html, "<polyline points=\"([^\"]*)\"").Select(m => m.Groups[1].Value.Split(' ').Length).ToArray();
        Assert.Equal([3, 3, 3, 3], lines);
        // Confusion matrix: every class name, and the counts in cells.
        foreach (string c in Classes) Assert.Contains(System.Net.WebUtility.HtmlEncode(c), html);
        Assert.Contains(">9</td>", html);
        Assert.Contains(">3</td>", html);
        Assert.Contains("70.00%", html); // recall of class 2: 7 / 10
        // 2 mistakes + 6 filters, each an inline PNG.
        Assert.Equal(2, Regex.Matches(html, "alt=\"test image").Count);
        Assert.Equal(6, Regex.Matches(html, "alt=\"filter \\d+ channel 0\"").Count);
        Assert.Contains("86.67%", html); // final accuracy 26/30
    }

    [Fact]
    public void A_single_epoch_still_draws_its_points()
    {
        string html = ReportHtml.Build(Sample(1));

        Assert.Equal(2, Regex.Matches(html, "<svg ").Count);
        Assert.DoesNotContain("<polyline", html); // one point is a marker, not a line
        Assert.Equal(4, Regex.Matches(html, "<circle ").Count);
        Assert.DoesNotContain("NaN", html);
        Assert.DoesNotContain("Infinity", html);
    }

    [Theory]
    [InlineData(0.0, 1.0, 5)]
    [InlineData(0.2312, 0.2377, 5)]
    [InlineData(1.0, 10.0, 10)]
    [InlineData(0.8734, 0.9125, 5)]
    public void Nice_ticks_cover_the_range_with_round_steps(double min, double max, int count)
    {
        double[] ticks = SvgLineChart.NiceTicks(min, max, count);

        Assert.True(ticks[0] <= min + 1e-12 && ticks[^1] >= max - 1e-12, string.Join(", ", ticks));
        double step = ticks[1] - ticks[0];
        double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
        Assert.Contains(Math.Round(mantissa, 6), new[] { 1.0, 2.0, 2.5, 5.0 });
        Assert.InRange(ticks.Length, 2, 2 * count + 1);
    }
}
