using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// `convnet train` stops with exit code 7 when the loss explodes although it stays finite (the bug: Adam at --lr 100
/// reached a loss of 8e15 and chance accuracy, printed "Done" and exited 0). The threshold is an option.
/// </summary>
public sealed class CliDivergenceTests
{
    private static string[] Train(string optimizer, string lr, params string[] extra) =>
        ["train", "--sample", "--limit", "2000", "--epochs", "2", "--device", "cpu", "--optimizer", optimizer, "--lr", lr,
         "--out", CliHarness.TempDirectory("diverge"), .. extra];

    [Theory]
    [InlineData("adam", "100")]
    [InlineData("sgd", "2")] // PyTorch-default initialization: 0.5 no longer blows up within 2 epochs
    public async Task An_exploding_loss_ends_with_exit_7_and_no_done(string optimizer, string lr)
    {
        CliResult r = await CliHarness.RunAsync(Train(optimizer, lr));

        Assert.True(r.ExitCode == ExitCodes.Diverged, r.ToString());
        Assert.Contains("training diverged at epoch 1", r.Err);
        Assert.Contains("more than 100 times the loss at the start of training", r.Err);
        Assert.Contains("--max-loss-ratio", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.DoesNotContain("Done", r.Out);
    }

    [Fact]
    public async Task The_ratio_is_an_option()
    {
        // A ratio above any finite loss this run reaches leaves only NaN/Inf to stop it, as before the policy.
        CliResult tolerant = await CliHarness.RunAsync(Train("sgd", "0.5", "--max-loss-ratio", "1e300"));
        CliResult invalid = await CliHarness.RunAsync(Train("adam", "0.001", "--max-loss-ratio", "1"));

        Assert.DoesNotContain("more than", tolerant.Err);
        Assert.True(invalid.ExitCode == ExitCodes.Usage, invalid.ToString());
        Assert.Contains("--max-loss-ratio must be greater than 1", invalid.Err);
    }
}
