using System.Globalization;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using ConvNet.Gpu.IO;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Crash consistency of `convnet train`: the real CLI process is killed with SIGKILL at many points while it writes
/// checkpoints (driven by the CONVNET_FAULT_INJECTION seam: inside the temporary file, after the fsync, after the
/// rename; of best, last and final), plus a few real kills at random moments. Afterwards every *.ckpt present must
/// load and evaluate to exactly the accuracy the uninterrupted run had at that checkpoint's epoch, resuming from
/// last.ckpt must end with the uninterrupted run's final weights bit for bit, and the killed run's temporary files
/// must be gone after that next run. Deterministic on the CPU, so "the run that wrote it" is replayed in-process.
/// </summary>
public sealed class CliCrashConsistencyTests(ITestOutputHelper output)
{
    private const int Epochs = 3;

    private static string[] Train(string dir) =>
        ["train", "--sample", "--limit", "300", "--epochs", Epochs.ToString(CultureInfo.InvariantCulture), "--batch-size", "50",
         "--device", "cpu", "--seed", "7", "--out", dir];

    private static readonly Lazy<Task<Reference>> Straight = new(RunReferenceAsync);

    private sealed record Reference(string Directory, CheckpointContent Final);

    private static async Task<Reference> RunReferenceAsync()
    {
        string dir = CliHarness.TempDirectory("crash-reference");
        CliResult r = await CliHarness.RunAsync(Train(dir));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(Epochs, RunMetrics.ReadEpochs(Path.Combine(dir, "metrics.json")).Count);
        return new Reference(dir, CheckpointFile.Read(Path.Combine(dir, "final.ckpt")));
    }

    public static TheoryData<string> FaultPoints() =>
    [
        "kill:created:last.ckpt@2", "kill:partial:last.ckpt@2", "kill:flushed:last.ckpt@2", "kill:renamed:last.ckpt@2",
        "kill:partial:best.ckpt@1", "kill:flushed:best.ckpt@2", "kill:renamed:best.ckpt@1",
        "kill:partial:final.ckpt@1", "kill:renamed:final.ckpt@1",
        "kill:flushed:metrics.json@2", "kill:renamed:last.ckpt@1", "kill:partial:last.ckpt@3",
    ];

    [Theory]
    [MemberData(nameof(FaultPoints))]
    public async Task A_kill_at_any_point_of_a_checkpoint_write_leaves_only_checkpoints_that_evaluate_exactly_as_written(string fault)
    {
        var reference = await Straight.Value;
        string dir = CliHarness.TempDirectory("crash");

        CliProcessResult killed = await CliProcess.RunAsync(Train(dir), new Dictionary<string, string> { [FaultInjection.EnvironmentVariable] = fault });

        Assert.True(killed.Killed, $"the fault {fault} should have killed the run\n{killed}");
        await CheckpointOracle.AssertEveryCheckpointEvaluatesAsWrittenAsync(dir, Path.Combine(reference.Directory, "metrics.json"), 300, output);
        await AssertResumesToTheSameWeightsAsync(dir, reference);
    }

    [Fact]
    public async Task Real_kills_at_random_moments_leave_only_checkpoints_that_evaluate_exactly_as_written()
    {
        var reference = await Straight.Value;
        var rng = new TestRng();
        for (int i = 0; i < 3; i++)
        {
            string dir = CliHarness.TempDirectory("kill9");
            var after = TimeSpan.FromMilliseconds(Math.Round(rng.Next(400f, 4000f)));
            CliProcessResult r = await CliProcess.RunAsync(Train(dir), killAfter: after);
            output.WriteLine($"{rng.Label("kill -9")} after {after.TotalMilliseconds} ms: {(r.Killed ? "killed" : $"finished first (exit {r.ExitCode})")}; " +
                $"checkpoints: {string.Join(", ", Directory.GetFiles(dir, "*.ckpt").Select(Path.GetFileName))}");
            if (!r.Killed) Assert.True(r.ExitCode == 0, r.ToString());
            await CheckpointOracle.AssertEveryCheckpointEvaluatesAsWrittenAsync(dir, Path.Combine(reference.Directory, "metrics.json"), 300, output);
        }
    }

    /// <summary>Resuming from whatever last.ckpt survived (or from scratch) ends with the reference's final weights.</summary>
    private static async Task AssertResumesToTheSameWeightsAsync(string dir, Reference reference)
    {
        // From last.ckpt when it holds an unfinished run; otherwise (none yet, or all epochs done) the same run again.
        string last = Path.Combine(dir, "last.ckpt");
        bool resumable = File.Exists(last) && CheckpointFile.Read(last).Metadata["epoch"] != Epochs.ToString(CultureInfo.InvariantCulture);
        string[] args = resumable ? [.. Train(dir), "--resume", last] : Train(dir);
        CliResult resumed = await CliHarness.RunAsync(args);
        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.ToString());
        Assert.Empty(Directory.GetFiles(dir, "*" + AtomicFile.TemporaryInfix + "*"));
        CheckpointContent final = CheckpointFile.Read(Path.Combine(dir, "final.ckpt"));
        foreach (var (key, tensor) in reference.Final.Tensors.Where(t => t.Key.StartsWith("param:", StringComparison.Ordinal)))
            Assert.True(tensor.Data.AsSpan().SequenceEqual(final.Tensors[key].Data), $"{key} differs from the uninterrupted run after resuming");
    }
}
