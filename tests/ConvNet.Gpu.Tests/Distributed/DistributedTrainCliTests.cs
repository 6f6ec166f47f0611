using System.Diagnostics;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// `mpirun -np 2 convnet train --distributed` end to end on the embedded Fashion-MNIST sample, one CPU thread per rank:
/// two runs give bit-identical weights; 2 ranks with global batch 64 end within a stated tolerance of one process with
/// batch 64; mismatched ranks are refused at start-up; a killed rank ends the other with a clear error at once, a
/// stopped (hung) rank within the collective timeout, and the last checkpoint stays loadable; ranks launched without
/// --distributed are refused; a 2-rank checkpoint resumes in one process and on 3 ranks. About a minute of CI time.
/// </summary>
public sealed class DistributedTrainCliTests : IDisposable
{
    private const string Cli = "convnet.dll";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(180);
    private readonly string _dir = Directory.CreateTempSubdirectory("convnet-dist-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<string> Train(string output, params string[] extra) => TrainWithBatch(output, 64, 1, extra);

    private static List<string> TrainWithBatch(string output, int batch, int epochs, params string[] extra) =>
        ["train", "--sample", "--limit", "640", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--batch-size", batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--device", "cpu", "--threads", "1", "--seed", "3", "--out", output, .. extra];

    private static float[] Weights(string checkpoint)
    {
        using var cpu = Backend.Cpu(1);
        using var model = Sequential.Load(checkpoint, cpu);
        return model.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()).ToArray();
    }

    private MpiJob.Result TwoRanks(string name, params string[] extra)
    {
        var r = MpiJob.Run(2, Cli, Train(Path.Combine(_dir, name), ["--distributed", .. extra]), Limit);
        return r;
    }

    [Fact]
    public async Task Two_rank_runs_are_bit_identical_and_match_one_process_within_tolerance()
    {
        var a = TwoRanks("a");
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.Contains("Distributed: MPI (Open MPI", a.Output, StringComparison.Ordinal);
        Assert.Contains("global batch 64 split over 2 ranks", a.Output, StringComparison.Ordinal);
        Assert.Single(a.Output.Split('\n'), l => l.StartsWith("Done: test accuracy", StringComparison.Ordinal)); // rank 0 alone prints
        var b = TwoRanks("b");
        Assert.True(b.ExitCode == 0, b.ToString());
        float[] wa = Weights(Path.Combine(_dir, "a", "final.ckpt")), wb = Weights(Path.Combine(_dir, "b", "final.ckpt"));
        Assert.Equal(wa.Length, wb.Length);
        for (int i = 0; i < wa.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(wa[i]) == BitConverter.SingleToInt32Bits(wb[i]), $"weight {i}: {wa[i]:R} vs {wb[i]:R}");

        int single = await ConvNet.Gpu.Cli.Program.RunAsync([.. Train(Path.Combine(_dir, "one"))], TextWriter.Null, TextWriter.Null, TestContext.Current.CancellationToken);
        Assert.Equal(0, single);
        float[] w1 = Weights(Path.Combine(_dir, "one", "final.ckpt"));
        // 10 Adam steps of LeNet-5: the per-sample gradients are identical, only the order of the batch sums differs
        // (32 + 32 samples, then across ranks, versus 64 at once). Measured 2026-11-29: 2.8e-6 at most. Adam's
        // normalized steps can turn a tiny gradient difference into a step of up to lr = 1e-3, so the tolerance is
        // 1e-4 absolute (36x the measurement); a wrong shard or weighting moves weights by more than 1e-3.
        double worst = 0;
        for (int i = 0; i < w1.Length; i++) worst = Math.Max(worst, Math.Abs(w1[i] - wa[i]));
        Assert.True(worst <= 1e-4, $"2 ranks vs 1 process: max |difference| {worst:E2}");
    }

    [Fact]
    public void Ranks_started_with_different_batch_sizes_are_refused_at_start_up()
    {
        var r = MpiJob.Run(2, Cli, [], Limit, perRankArgs:
        [
            Train(Path.Combine(_dir, "m"), "--distributed"),
            TrainWithBatch(Path.Combine(_dir, "m"), 32, 1, "--distributed"),
        ]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("batch size: rank 0 has 64, rank 1 has 32", r.Output, StringComparison.Ordinal);
        Assert.Contains("found at start-up, before any step", r.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "m", "last.ckpt")), r.ToString());
    }

    [Fact]
    public void Ranks_launched_without_distributed_are_refused()
    {
        var r = MpiJob.Run(2, Cli, Train(Path.Combine(_dir, "u")), Limit);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("but --distributed was not given", r.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kill")] // SIGKILL: mpirun notices and stops rank 0, which says why at once
    [InlineData("stop")] // SIGSTOP: nobody notices but rank 0's collective deadline
    public void A_rank_that_dies_or_hangs_mid_epoch_ends_the_other_with_a_clear_error_and_a_loadable_checkpoint(string fault)
    {
        string output = Path.Combine(_dir, fault);
        string last = Path.Combine(output, "last.ckpt");
        var faultAt = new Stopwatch();
        var r = MpiJob.Run(2, Cli, ["train", "--sample", "--limit", "2560", "--epochs", "20", "--batch-size", "64", "--device", "cpu",
            "--threads", "1", "--out", output, "--distributed", "--collective-timeout", "6"], Limit, whileRunning: mpirun =>
        {
            var wait = Stopwatch.StartNew();
            while (!File.Exists(last) && wait.Elapsed < TimeSpan.FromSeconds(120) && !mpirun.HasExited) Thread.Sleep(50);
            int? pid = MpiJob.RankPid(mpirun, 1);
            Assert.True(pid is not null, "rank 1 not found");
            faultAt.Start();
            Process.Start("kill", [fault == "kill" ? "-KILL" : "-STOP", pid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
        });
        Assert.False(r.TimedOut, r.ToString());
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(faultAt.Elapsed < TimeSpan.FromSeconds(fault == "kill" ? 20 : 30), $"ended {faultAt.Elapsed.TotalSeconds:0.0} s after the fault\n{r}");
        Assert.Contains(fault == "kill"
            ? "Rank 0: interrupted (SIGTERM or Ctrl-C) while"
            : "did not complete within the 6 s collective timeout; no data arrived from rank 1", r.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Done: test accuracy", r.Output, StringComparison.Ordinal);
        using var cpu = Backend.Cpu(1);
        using var model = Sequential.Load(last, cpu); // the last complete checkpoint stays loadable
        Assert.True(model.TrainableParameterCount > 0);
    }

    [Fact]
    public async Task A_two_rank_checkpoint_resumes_in_one_process_and_on_three_ranks()
    {
        var first = TwoRanks("r"); // one epoch on 2 ranks
        Assert.True(first.ExitCode == 0, first.ToString());
        string checkpoint = Path.Combine(_dir, "r", "last.ckpt");
        List<string> Resume(string output) =>
            ["train", "--resume", checkpoint, "--epochs", "2", "--sample", "--limit", "640", "--device", "cpu", "--threads", "1", "--out", output];

        int one = await ConvNet.Gpu.Cli.Program.RunAsync([.. Resume(Path.Combine(_dir, "r1"))], TextWriter.Null, TextWriter.Null, TestContext.Current.CancellationToken);
        Assert.Equal(0, one);
        var three = MpiJob.Run(3, Cli, [.. Resume(Path.Combine(_dir, "r3")), "--distributed"], Limit);
        Assert.True(three.ExitCode == 0, three.ToString());
        Assert.Contains("Resume:", three.Output, StringComparison.Ordinal);
        int straight = await ConvNet.Gpu.Cli.Program.RunAsync([.. TrainWithBatch(Path.Combine(_dir, "s"), 64, 2)],
            TextWriter.Null, TextWriter.Null, TestContext.Current.CancellationToken);
        Assert.Equal(0, straight);

        float[] expected = Weights(Path.Combine(_dir, "s", "final.ckpt"));
        foreach (string run in new[] { "r1", "r3" })
        {
            float[] w = Weights(Path.Combine(_dir, run, "final.ckpt"));
            double worst = 0;
            for (int i = 0; i < w.Length; i++) worst = Math.Max(worst, Math.Abs(w[i] - expected[i]));
            Assert.True(worst <= 1e-4, $"{run}: max |difference| from an uninterrupted 2-epoch run {worst:E2}"); // tolerance as above
        }
    }
}
