using System.Diagnostics;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.IO;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// A disk that fills up while `convnet train` writes checkpoints: exit code 6 naming the file, no temporary file left
/// behind, and every checkpoint that is left loads and evaluates exactly as the run that wrote it. Two ways to fill
/// the disk: a size-limited tmpfs the test mounts (needs root and mount permission; skipped with the reason
/// otherwise), and the CONVNET_FAULT_INJECTION seam, which throws the ENOSPC IOException inside the write (always runs).
/// </summary>
public sealed class CliFullDiskTests(ITestOutputHelper output)
{
    private static string[] Train(string dir) =>
        ["train", "--sample", "--limit", "300", "--epochs", "3", "--batch-size", "50", "--device", "cpu", "--seed", "7", "--out", dir];

    [Fact]
    public async Task A_full_tmpfs_gives_exit_6_and_leaves_only_checkpoints_that_evaluate_as_written()
    {
        // One checkpoint's size from an unconstrained run; the tmpfs then holds two of them (best and last of epoch 1)
        // plus half a third, so the first write of epoch 2 runs out of space halfway.
        string reference = CliHarness.TempDirectory("disk-reference");
        CliResult straight = await CliHarness.RunAsync(Train(reference));
        Assert.True(straight.ExitCode == 0, straight.ToString());
        long checkpointBytes = new FileInfo(Path.Combine(reference, "last.ckpt")).Length;
        long size = (checkpointBytes * 5 / 2 + 4095) / 4096 * 4096;

        string mountPoint = CliHarness.TempDirectory("tmpfs");
        string? failure = Mount(mountPoint, size);
        if (failure is not null) Assert.Skip($"cannot mount a size-limited tmpfs here ({failure}); the injected-ENOSPC test covers the same path");
        try
        {
            output.WriteLine($"ran on a {size / 1024} KiB tmpfs at {mountPoint} (checkpoints are {checkpointBytes / 1024} KiB)");
            CliResult full = await CliHarness.RunAsync(Train(mountPoint));

            Assert.True(full.ExitCode == ExitCodes.Output, full.ToString());
            Assert.Contains("No space left on device", full.Err);
            Assert.Matches(@"cannot write (the checkpoint )?\S+\.(ckpt|json)", full.Err);
            await AssertLeftoversAreRightAsync(mountPoint, reference);
        }
        finally
        {
            Unmount(mountPoint);
        }
    }

    [Theory]
    [InlineData("enospc:partial:last.ckpt@2")]
    [InlineData("enospc:flushed:best.ckpt@2")]
    [InlineData("enospc:created:final.ckpt@1")]
    [InlineData("enospc:partial:metrics.json@1")]
    public async Task An_injected_ENOSPC_gives_exit_6_and_leaves_only_checkpoints_that_evaluate_as_written(string fault)
    {
        string reference = CliHarness.TempDirectory("enospc-reference");
        CliResult straight = await CliHarness.RunAsync(Train(reference));
        Assert.True(straight.ExitCode == 0, straight.ToString());
        string dir = CliHarness.TempDirectory("enospc");

        CliProcessResult full = await CliProcess.RunAsync(Train(dir), new Dictionary<string, string> { [FaultInjection.EnvironmentVariable] = fault });

        output.WriteLine($"ran with {FaultInjection.EnvironmentVariable}={fault}");
        Assert.True(full.ExitCode == ExitCodes.Output, full.ToString());
        Assert.Contains("No space left on device", full.Err);
        Assert.Single(full.Err.Trim().Split('\n')); // one line, no stack trace
        await AssertLeftoversAreRightAsync(dir, reference);
    }

    private async Task AssertLeftoversAreRightAsync(string dir, string reference)
    {
        Assert.Empty(Directory.GetFiles(dir, "*" + AtomicFile.TemporaryInfix + "*"));
        await CheckpointOracle.AssertEveryCheckpointEvaluatesAsWrittenAsync(dir, Path.Combine(reference, "metrics.json"), 300, output);
    }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/>; returns why not when that is not possible.</summary>
    private static string? Mount(string mountPoint, long bytes)
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        try
        {
            var (code, err) = Exec("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", mountPoint);
            return code == 0 ? null : $"mount exited {code}: {err.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"no mount command: {e.Message}";
        }
    }

    private static void Unmount(string mountPoint) => Exec("umount", mountPoint);

    private static (int Code, string Err) Exec(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err);
    }
}
