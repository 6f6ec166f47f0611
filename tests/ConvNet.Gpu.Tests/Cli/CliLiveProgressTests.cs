using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>The terminal path: live Spectre.Console bars while training, epoch lines that stay, the same files.</summary>
public sealed class CliLiveProgressTests
{
    [Fact]
    public async Task A_terminal_run_shows_epoch_lines_and_writes_the_same_outputs()
    {
        string output = CliHarness.TempDirectory("live");

        CliResult r = await CliHarness.RunAsTerminalAsync("train", "--sample", "--limit", "200", "--epochs", "2", "--batch-size", "50",
            "--device", "cpu", "--out", output);

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        Assert.Contains("epoch 1/2  train loss", r.Out);
        Assert.Contains("epoch 2/2  train loss", r.Out);
        Assert.Contains("Done: test accuracy", r.Out);
        Assert.DoesNotContain("  epoch 1/2  batch", r.Out); // no plain per-batch lines: the bars carry them
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
    }
}
