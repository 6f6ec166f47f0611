using System.Globalization;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Shared checks of the reliability tests: what `convnet evaluate` reports for a checkpoint, whether every checkpoint
/// left in a directory evaluates exactly as the run that wrote it did (the deterministic CPU replay of that run is the
/// oracle), and a run interrupted in the middle of its first epoch.
/// </summary>
public static partial class CheckpointOracle
{
    [GeneratedRegex(@"test accuracy ([0-9.]+)%")]
    private static partial Regex AccuracyLine();

    /// <summary>The "test accuracy X%" that `evaluate` printed, as printed (two decimals).</summary>
    public static string Accuracy(CliResult evaluate)
    {
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        return AccuracyLine().Match(evaluate.Out).Groups[1].Value;
    }

    /// <summary>Runs `evaluate` on <paramref name="checkpoint"/> with the tests' data (the sample, first <paramref name="limit"/> images, CPU).</summary>
    public static Task<CliResult> EvaluateAsync(string checkpoint, int limit) =>
        CliHarness.RunAsync("evaluate", "--checkpoint", checkpoint, "--sample", "--limit", limit.ToString(CultureInfo.InvariantCulture), "--device", "cpu");

    /// <summary>
    /// Every *.ckpt in <paramref name="dir"/> loads and evaluates to the test accuracy that <paramref name="referenceMetrics"/>
    /// (the metrics.json of the same run done without faults) has for the epoch the file says it holds.
    /// </summary>
    public static async Task AssertEveryCheckpointEvaluatesAsWrittenAsync(string dir, string referenceMetrics, int limit, ITestOutputHelper output)
    {
        var accuracy = RunMetrics.ReadEpochs(referenceMetrics).Select(e => e.TestAccuracy).ToList();
        foreach (string checkpoint in Directory.GetFiles(dir, "*.ckpt"))
        {
            int epoch = int.Parse(CheckpointFile.Read(checkpoint).Metadata["epoch"], CultureInfo.InvariantCulture);
            Assert.InRange(epoch, 1, accuracy.Count); // written at an epoch end: a kill or a full disk gives no chance to write a mid-epoch one
            string expected = (accuracy[epoch - 1] * 100).ToString("0.00", CultureInfo.InvariantCulture);
            string actual = Accuracy(await EvaluateAsync(checkpoint, limit));
            output.WriteLine($"{Path.GetFileName(checkpoint)}: epoch {epoch}, accuracy {actual}% (run that wrote it: {expected}%)");
            Assert.True(expected == actual, $"{checkpoint} (epoch {epoch}) evaluates to {actual}%, but the run that wrote it had {expected}%");
        }
    }

    /// <summary>
    /// Trains 400 sample images in batches of 10 (40 per epoch) into <paramref name="dir"/> and presses Ctrl-C at the
    /// first progress line containing <paramref name="trigger"/> (a line every 4 batches: "batch    24/40"); returns the
    /// checkpoint written and the batch it stopped after.
    /// </summary>
    public static async Task<(string Checkpoint, int Batch)> InterruptMidEpochAsync(string dir, string trigger = "epoch 1/1  batch")
    {
        using var cancellation = new CancellationTokenSource();
        var writer = new CancelOnLineWriter(trigger, cancellation);
        CliResult first = await CliHarness.RunAsync(
            ["train", "--sample", "--limit", "400", "--epochs", "1", "--batch-size", "10", "--device", "cpu", "--out", dir], cancellation.Token, writer);
        Assert.True(first.ExitCode == ExitCodes.Interrupted, first.ToString());
        string last = Path.Combine(dir, "last.ckpt");
        int batch = int.Parse(CheckpointFile.Read(last).Metadata["batch"], CultureInfo.InvariantCulture);
        Assert.InRange(batch, 1, 39);
        return (last, batch);
    }
}
