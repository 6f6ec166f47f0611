using System.Diagnostics;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Training;
using ConvNet.Gpu.IO;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Edge inputs and the small reliability items of issue 14, one test each: empty paths, an underflowing learning
/// rate, temporary files after failures, Ctrl-C in evaluate, a failing device leaving no directory, the ETA of huge
/// runs, and an unreadable data directory.
/// </summary>
public sealed class CliEdgeInputTests
{
    private static string[] Train(string dir, params string[] extra) =>
        ["train", "--sample", "--limit", "100", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--out", dir, .. extra];

    [Theory]
    [InlineData("train", "--out")]
    [InlineData("train", "--resume")]
    [InlineData("train", "--data")]
    [InlineData("evaluate", "--checkpoint")]
    [InlineData("evaluate", "--data")]
    public async Task An_empty_path_is_a_usage_error(string command, string option)
    {
        string[] args = command == "train"
            ? ["train", "--sample", "--device", "cpu", option, ""]
            : ["evaluate", "--device", "cpu", .. option == "--checkpoint" ? new[] { "--checkpoint", "" } : ["--checkpoint", "x.ckpt", option, ""]];

        CliResult r = await CliHarness.RunAsync(args);

        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains($"{option} must not be empty", r.Err);
    }

    [Theory]
    [InlineData("1e-50", "0")]
    [InlineData("1e-40", "1E-40")]
    [InlineData("1e39", "Infinity")]
    public async Task A_learning_rate_float32_cannot_hold_is_a_usage_error(string lr, string wouldBe)
    {
        CliResult r = await CliHarness.RunAsync(Train(CliHarness.TempDirectory("lr"), "--lr", lr));

        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains($"--lr {lr} is outside what float32 can hold (1.18E-38 to 3.4E+38): training would use {wouldBe}", r.Err);
    }

    [Fact]
    public async Task A_failed_write_leaves_no_temporary_file()
    {
        string dir = CliHarness.TempDirectory("failed-write");
        Directory.CreateDirectory(Path.Combine(dir, "metrics.json")); // the rename onto it fails

        CliResult r = await CliHarness.RunAsync(Train(dir));

        Assert.True(r.ExitCode == ExitCodes.Output, r.ToString());
        Assert.Contains("metrics.json", r.Err);
        Assert.Empty(Directory.GetFiles(dir, "*" + AtomicFile.TemporaryInfix + "*"));
    }

    [Fact]
    public async Task The_temporary_files_of_a_killed_run_are_removed_by_the_next_run()
    {
        string dir = CliHarness.TempDirectory("stale");
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await dead.WaitForExitAsync(TestContext.Current.CancellationToken);
        string stale = Path.Combine(dir, $"last.ckpt{AtomicFile.TemporaryInfix}{dead.Id}-00ff00ff00ff");
        File.WriteAllBytes(stale, new byte[100]);

        CliResult r = await CliHarness.RunAsync(Train(dir, "--verbose"));

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(File.Exists(stale));
        Assert.Contains($"Removed {stale}", r.Out);
    }

    [Fact]
    public async Task Evaluate_stops_on_ctrl_c_with_exit_130_and_prints_no_result()
    {
        string dir = CliHarness.TempDirectory("eval-cancel");
        Assert.Equal(0, (await CliHarness.RunAsync(Train(dir))).ExitCode);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel(); // Ctrl-C already pressed when the evaluation is about to run

        CliResult r = await CliHarness.RunAsync(["evaluate", "--checkpoint", Path.Combine(dir, "last.ckpt"), "--sample", "--limit", "100", "--device", "cpu"],
            cancelled.Token);

        Assert.True(r.ExitCode == ExitCodes.Interrupted, r.ToString());
        Assert.DoesNotContain("test accuracy", r.Out);
    }

    [Fact]
    public async Task A_device_that_cannot_start_leaves_no_output_directory()
    {
        if (Backend.QueryCuda().IsAvailable) Assert.Skip("a CUDA device is available here, so --device cuda would start");
        string dir = Path.Combine(CliHarness.TempDirectory("no-device"), "out");

        CliResult r = await CliHarness.RunAsync(["train", "--sample", "--device", "cuda", "--out", dir]);

        Assert.True(r.ExitCode == ExitCodes.Device, r.ToString());
        Assert.False(Directory.Exists(dir), $"{dir} was created although the run never started");
    }

    [Fact]
    public async Task The_eta_of_a_run_of_billions_of_batches_counts_them_all()
    {
        // 14,316,558 epochs of 300 batches: 4,294,967,400 batches, which wrapped around an int to 104 before, so the
        // ETA left out nearly all of the training time.
        const long epochs = 14_316_558, batches = 300;
        string dir = CliHarness.TempDirectory("huge");
        using var cancellation = new CancellationTokenSource();
        var writer = new CancelOnLineWriter("ETA", cancellation);

        CliResult r = await CliHarness.RunAsync(
            ["train", "--sample", "--limit", "300", "--epochs", $"{epochs}", "--batch-size", "1", "--device", "cpu", "--out", dir], cancellation.Token, writer);

        Assert.True(r.ExitCode == ExitCodes.Interrupted, r.ToString());
        string line = r.Out.Split('\n').First(l => l.Contains("ETA", StringComparison.Ordinal)).TrimEnd();
        var m = System.Text.RegularExpressions.Regex.Match(line, @"([0-9,]+) img/s  ETA (\d+):(\d\d):(\d\d)$");
        Assert.True(m.Success, line);
        double imagesPerSecond = double.Parse(m.Groups[1].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        double etaSeconds = 3600.0 * long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)
            + 60 * int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) + int.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
        double trainingSeconds = (epochs * batches - 30) / imagesPerSecond; // batch size 1: one image per batch
        Assert.True(etaSeconds >= 0.5 * trainingSeconds, $"ETA {etaSeconds:N0} s, but the batches left alone take about {trainingSeconds:N0} s: {line}");
    }

    [Fact]
    public void The_eta_estimator_and_its_format_hold_any_run_length()
    {
        var eta = new EtaEstimator(long.MaxValue / 4, int.MaxValue);
        eta.StartTraining();
        for (int i = 0; i < 3; i++) eta.BatchDone();
        Thread.Sleep(5);

        Assert.Equal(TimeSpan.MaxValue, eta.Remaining);
        Assert.Equal(">100000 h", ProgressView.FormatEta(TimeSpan.MaxValue));
        Assert.Equal("99999:59:59", ProgressView.FormatEta(TimeSpan.FromHours(100_000) - TimeSpan.FromSeconds(1)));
        Assert.Equal("01:05", ProgressView.FormatEta(TimeSpan.FromSeconds(65)));
    }

    [Fact]
    public async Task An_unreadable_data_directory_is_reported_as_unreadable()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            Assert.Skip("needs root and setpriv to run convnet as an unprivileged user (root reads any directory)");
            return;
        }
        string data = CliHarness.TempDirectory("unreadable");
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), []);
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // 0700, owned by root
        string output = CliHarness.TempDirectory("unreadable-out");
        File.SetUnixFileMode(output, (UnixFileMode)0x1FF); // 0777: the unprivileged user may write there

        var start = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", CliProcess.DotnetHost(),
                     Path.Combine(AppContext.BaseDirectory, "convnet.dll"), "train", "--data", data, "--device", "cpu", "--out", output })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string err = await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(p.ExitCode == ExitCodes.Data, $"exit {p.ExitCode}: {err}");
        Assert.Contains($"{data} (from the given data directory) exists but cannot be listed", err);
        Assert.DoesNotContain("lacks", err);
    }
}
