using System.Globalization;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Options given together with --resume are honoured or refused, never silently ignored: --lr is honoured (a new rate
/// for the rest of the run), --batch-size at an epoch boundary; another --optimizer, --batch-size mid-epoch and
/// another --seed are refused with exit code 2. Resuming into another --out keeps the earlier epochs and the best.
/// </summary>
public sealed class CliResumeOptionTests
{
    private static string[] Train(string dir, params string[] extra) =>
        ["train", "--sample", "--limit", "200", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--out", dir, .. extra];

    private static readonly Lazy<Task<string>> OneEpoch = new(async () =>
    {
        string dir = CliHarness.TempDirectory("resume-options");
        CliResult r = await CliHarness.RunAsync(Train(dir));
        Assert.True(r.ExitCode == 0, r.ToString());
        return Path.Combine(dir, "last.ckpt");
    });

    private static async Task<CliResult> Resume(params string[] extra) =>
        await CliHarness.RunAsync(["train", "--resume", await OneEpoch.Value, "--epochs", "2", "--sample", "--limit", "200", "--device", "cpu",
            "--out", CliHarness.TempDirectory("resumed"), .. extra]);

    private static CheckpointContent Final(CliResult r) =>
        CheckpointFile.Read(Path.Combine(r.Out.Split('\n').First(l => l.StartsWith("Wrote ", StringComparison.Ordinal))[6..].Split(", ")[0]));

    [Fact]
    public async Task An_explicit_learning_rate_is_honoured()
    {
        CliResult r = await Resume("--lr", "0.0005");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("lr 0.0005 from --lr (the checkpoint's was 0.001)", r.Out);
        Assert.Contains("adam lr 0.0005", r.Out);
        CheckpointContent final = Final(r);
        Assert.Equal("0.0005", final.Metadata["learning_rate"]);
        Assert.Contains("\"learning_rate\":0.0005", final.Metadata["optimizer"]);
    }

    [Fact]
    public async Task Another_optimizer_is_refused_and_the_same_one_accepted()
    {
        CliResult other = await Resume("--optimizer", "sgd");
        CliResult same = await Resume("--optimizer", "adam");

        Assert.True(other.ExitCode == ExitCodes.Usage, other.ToString());
        Assert.Contains("was trained with adam, whose state cannot carry over to sgd", other.Err);
        Assert.True(same.ExitCode == 0, same.ToString());
    }

    [Fact]
    public async Task Another_seed_is_refused()
    {
        CliResult r = await Resume("--seed", "7");

        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains("was trained with seed 42, which fixes its data order", r.Err);
    }

    [Fact]
    public async Task A_batch_size_is_honoured_at_an_epoch_boundary()
    {
        CliResult r = await Resume("--batch-size", "25");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("batch size 25 from --batch-size (the checkpoint's was 50)", r.Out);
        CheckpointContent final = Final(r);
        Assert.Equal("25", final.Metadata["batch_size"]);
        Assert.Equal("12", final.Metadata["global_step"]); // 4 batches of 50, then 8 of 25
    }

    [Fact]
    public async Task A_batch_size_is_refused_in_the_middle_of_an_epoch()
    {
        var (last, _) = await CheckpointOracle.InterruptMidEpochAsync(CliHarness.TempDirectory("mid-epoch-size"));

        CliResult r = await CliHarness.RunAsync("train", "--resume", last, "--epochs", "1", "--batch-size", "20",
            "--sample", "--limit", "400", "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains("with batch size 10, and that epoch can only be finished with batch size 10", r.Err);
    }

    [Fact]
    public async Task Resuming_into_another_directory_keeps_the_earlier_epochs_and_the_best_checkpoint()
    {
        string first = CliHarness.TempDirectory("history-a");
        CliResult a = await CliHarness.RunAsync(["train", "--sample", "--limit", "200", "--epochs", "2", "--batch-size", "50", "--device", "cpu", "--out", first]);
        Assert.True(a.ExitCode == 0, a.ToString());
        var earlier = RunMetrics.ReadEpochs(Path.Combine(first, "metrics.json"));
        string second = CliHarness.TempDirectory("history-b");

        CliResult b = await CliHarness.RunAsync("train", "--resume", Path.Combine(first, "last.ckpt"), "--epochs", "3", "--sample", "--limit", "200",
            "--device", "cpu", "--out", second);

        Assert.True(b.ExitCode == 0, b.ToString());
        var all = RunMetrics.ReadEpochs(Path.Combine(second, "metrics.json"));
        Assert.Equal([1, 2, 3], all.Select(e => e.Epoch));
        Assert.Equal(earlier.Select(e => e.TestAccuracy), all.Take(2).Select(e => e.TestAccuracy));
        var best = all.MaxBy(e => e.TestAccuracy)!;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"(best {best.TestAccuracy * 100:0.00}% at epoch {best.Epoch})"), b.Out);
        // best.ckpt in the new directory is the best epoch's, whichever run wrote it.
        Assert.Equal(best.Epoch.ToString(CultureInfo.InvariantCulture), CheckpointFile.Read(Path.Combine(second, "best.ckpt")).Metadata["epoch"]);
    }
}
