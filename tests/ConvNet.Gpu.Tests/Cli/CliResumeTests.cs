using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Interrupting `convnet train` (the cancellation token stands in for Ctrl-C) writes a checkpoint at the batch reached,
/// and --resume continues from exactly there: same position, same final weights as a run that was never interrupted.
/// </summary>
public sealed class CliResumeTests
{
    private static string[] Run(string output, params string[] extra) =>
        ["train", "--sample", "--limit", "400", "--epochs", "2", "--batch-size", "20", "--device", "cpu", "--seed", "11", "--out", output, .. extra];

    [Fact]
    public async Task Interrupted_run_resumes_at_the_saved_batch_and_matches_an_uninterrupted_run()
    {
        string interrupted = CliHarness.TempDirectory("interrupted");
        using var cancellation = new CancellationTokenSource();
        // 20 batches per epoch; plain progress prints a line every 2 batches, and the first one cancels.
        var writer = new CancelOnLineWriter("epoch 1/2  batch", cancellation);

        CliResult first = await CliHarness.RunAsync(Run(interrupted), cancellation.Token, writer);

        Assert.True(first.ExitCode == ExitCodes.Interrupted, first.ToString());
        string last = Path.Combine(interrupted, "last.ckpt");
        Assert.Contains($"Checkpoint written to {last}", first.Out);
        Assert.Contains($"Resume with: convnet train --resume {last} --epochs 2", first.Out);
        CheckpointContent saved = CheckpointFile.Read(last);
        Assert.Equal("0", saved.Metadata["epoch"]);
        int savedBatch = int.Parse(saved.Metadata["batch"]);
        Assert.InRange(savedBatch, 2, 19); // stopped inside the first epoch, after the batch that printed
        Assert.Contains($"Interrupted at epoch 1/2, batch {savedBatch}/20", first.Out);
        Assert.False(File.Exists(Path.Combine(interrupted, "final.ckpt")));

        CliResult resumed = await CliHarness.RunAsync(Run(interrupted, "--resume", last));

        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.ToString());
        Assert.Contains($"epoch 1/2: resuming at batch {savedBatch + 1}/20", resumed.Out);
        CheckpointContent final = CheckpointFile.Read(Path.Combine(interrupted, "final.ckpt"));
        Assert.Equal("2", final.Metadata["epoch"]);
        Assert.Equal("40", final.Metadata["global_step"]); // 2 epochs x 20 batches: nothing repeated, nothing skipped

        // The same run without the interruption ends with bit-identical weights (the CPU backend is deterministic).
        string straight = CliHarness.TempDirectory("straight");
        CliResult reference = await CliHarness.RunAsync(Run(straight));
        Assert.True(reference.ExitCode == 0, reference.ToString());
        CheckpointContent expected = CheckpointFile.Read(Path.Combine(straight, "final.ckpt"));
        var parameterKeys = expected.Tensors.Keys.Where(k => k.StartsWith("param:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(parameterKeys);
        foreach (string key in parameterKeys)
            Assert.True(expected.Tensors[key].Data.AsSpan().SequenceEqual(final.Tensors[key].Data), $"{key} differs after resuming");
    }

    [Fact]
    public async Task A_checkpoint_of_another_model_or_a_corrupt_one_is_a_checkpoint_error()
    {
        string output = CliHarness.TempDirectory("other-model");
        CliResult r = await CliHarness.RunAsync(["train", "--sample", "--limit", "100", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--out", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string last = Path.Combine(output, "last.ckpt");

        CliResult wrongModel = await CliHarness.RunAsync("train", "--model", "vgg-small", "--resume", last, "--epochs", "2", "--sample", "--device", "cpu");
        Assert.True(wrongModel.ExitCode == ExitCodes.Checkpoint, wrongModel.ToString());
        Assert.Contains("holds a 'lenet5' model, not 'vgg-small'", wrongModel.Err);
        Assert.DoesNotContain("   at ", wrongModel.Err);

        // Truncated to half: the container's size and checksum checks name the file.
        string truncated = Path.Combine(output, "truncated.ckpt");
        byte[] bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        CliResult cut = await CliHarness.RunAsync("evaluate", "--checkpoint", truncated, "--sample", "--limit", "50", "--device", "cpu");
        Assert.True(cut.ExitCode == ExitCodes.Checkpoint, cut.ToString());
        Assert.Contains(truncated, cut.Err);

        // Not a checkpoint at all.
        string garbage = Path.Combine(output, "garbage.ckpt");
        File.WriteAllText(garbage, "this is not a checkpoint, just some text long enough to hold a header");
        CliResult bad = await CliHarness.RunAsync("train", "--resume", garbage, "--sample", "--device", "cpu");
        Assert.True(bad.ExitCode == ExitCodes.Checkpoint, bad.ToString());
        Assert.Contains(garbage, bad.Err);

        // Already finished: asking for no more epochs than it has done is a usage error that says so.
        CliResult done = await CliHarness.RunAsync("train", "--resume", last, "--epochs", "1", "--sample", "--limit", "100", "--device", "cpu");
        Assert.True(done.ExitCode == ExitCodes.Usage, done.ToString());
        Assert.Contains("already completed 1 epoch(s)", done.Err);
    }
}
