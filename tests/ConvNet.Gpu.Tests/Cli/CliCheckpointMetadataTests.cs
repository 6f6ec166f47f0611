using System.Globalization;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.IO;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// The CLI writes each checkpoint once with its metadata (model name, input normalization) and refuses, with exit
/// code 4, a checkpoint that lacks what it needs instead of guessing: the bug was a file without normalization that
/// evaluated with mean 0 / std 1 and exit 0 at a wrong accuracy. Files of the earlier layout (cli.* entries) still
/// evaluate correctly; files of a newer layout are refused.
/// </summary>
public sealed class CliCheckpointMetadataTests
{
    private static readonly Lazy<Task<(string Dir, string Accuracy)>> Trained = new(async () =>
    {
        string dir = CliHarness.TempDirectory("metadata");
        CliResult r = await CliHarness.RunAsync("train", "--sample", "--limit", "200", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        return (dir, Accuracy(await Evaluate(Path.Combine(dir, "last.ckpt"))));
    });

    private static Task<CliResult> Evaluate(string checkpoint) => CheckpointOracle.EvaluateAsync(checkpoint, 200);

    private static string Accuracy(CliResult r) => CheckpointOracle.Accuracy(r);

    /// <summary>A copy of the trained last.ckpt with <paramref name="edit"/> applied (written with valid checksums).</summary>
    private static async Task<string> Variant(string name, Action<IDictionary<string, string>> edit)
    {
        var (dir, _) = await Trained.Value;
        CheckpointContent content = CheckpointFile.Read(Path.Combine(dir, "last.ckpt"));
        edit(content.Metadata);
        string path = Path.Combine(CliHarness.TempDirectory("variant"), name);
        CheckpointFile.Write(path, content);
        return path;
    }

    [Fact]
    public async Task The_checkpoint_records_the_model_and_the_input_normalization_of_its_run()
    {
        var (dir, _) = await Trained.Value;
        CheckpointMetadata m = ModelCheckpoint.ReadMetadata(Path.Combine(dir, "last.ckpt"));
        Assert.Equal(CheckpointMetadata.CurrentVersion, m.Version);
        Assert.Equal("lenet5", m.Model);
        // The normalization is measured on the 200 training images used: not the identity.
        Assert.NotNull(m.InputNormalization);
        Assert.InRange(m.InputNormalization!.Mean, 0.1f, 0.5f);
        Assert.InRange(m.InputNormalization.Std, 0.1f, 0.6f);
        Assert.Empty(Directory.GetFiles(dir, "*" + AtomicFile.TemporaryInfix + "*"));
    }

    [Fact]
    public async Task A_checkpoint_without_its_input_normalization_is_refused_by_evaluate_and_resume()
    {
        string path = await Variant("no-normalization.ckpt", m => m.Remove("input_normalization"));

        CliResult eval = await Evaluate(path);
        CliResult resume = await CliHarness.RunAsync("train", "--resume", path, "--epochs", "2", "--sample", "--limit", "200", "--device", "cpu",
            "--out", CliHarness.TempDirectory("resume-out"));

        foreach (CliResult r in new[] { eval, resume })
        {
            Assert.True(r.ExitCode == ExitCodes.Checkpoint, r.ToString());
            Assert.Contains("input normalization", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
    }

    [Fact]
    public async Task A_checkpoint_of_the_earlier_layout_evaluates_with_its_recorded_normalization()
    {
        var (_, expected) = await Trained.Value;
        CheckpointMetadata current = ModelCheckpoint.ReadMetadata(Path.Combine((await Trained.Value).Dir, "last.ckpt"));
        string legacy = await Variant("legacy.ckpt", m =>
        {
            foreach (string key in new[] { "metadata_version", "model", "input_normalization", "batch_size" }) m.Remove(key);
            m["cli.model"] = "lenet5";
            m["cli.batch_size"] = "50";
            m["cli.seed"] = "42";
            m["cli.normalization_mean"] = current.InputNormalization!.Mean.ToString("R", CultureInfo.InvariantCulture);
            m["cli.normalization_std"] = current.InputNormalization.Std.ToString("R", CultureInfo.InvariantCulture);
        });
        string incomplete = await Variant("legacy-first-write.ckpt", m =>
        {
            // What the old two-write save left after a kill between its writes: the library's entries only.
            foreach (string key in new[] { "metadata_version", "model", "input_normalization", "batch_size" }) m.Remove(key);
        });

        Assert.Equal(expected, Accuracy(await Evaluate(legacy)));
        Assert.Equal(0, ModelCheckpoint.ReadMetadata(legacy).Version);
        CliResult refused = await Evaluate(incomplete);
        Assert.True(refused.ExitCode == ExitCodes.Checkpoint, refused.ToString());
        Assert.Contains("input normalization", refused.Err);
    }

    [Fact]
    public async Task A_checkpoint_with_a_newer_metadata_layout_is_refused()
    {
        string path = await Variant("newer.ckpt", m => m["metadata_version"] = "2");

        CliResult r = await Evaluate(path);

        Assert.True(r.ExitCode == ExitCodes.Checkpoint, r.ToString());
        Assert.Contains("version 2, newer than this build reads (1)", r.Err);
    }

    [Theory]
    [InlineData("{\"mean\": 0.3}")]
    [InlineData("{\"mean\": 0.3, \"std\": 0}")]
    [InlineData("{\"mean\": \"0.3\", \"std\": 0.35}")]
    [InlineData("{\"mean\": 0.3, \"std\": -1}")]
    [InlineData("not json")]
    public async Task A_malformed_input_normalization_is_refused(string value)
    {
        string path = await Variant("bad-normalization.ckpt", m => m["input_normalization"] = value);

        CliResult r = await Evaluate(path);

        Assert.True(r.ExitCode == ExitCodes.Checkpoint, r.ToString());
        Assert.Contains("input_normalization", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }
}
