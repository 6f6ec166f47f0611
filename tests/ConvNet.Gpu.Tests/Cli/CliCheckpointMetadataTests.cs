using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.IO;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// The CLI writes each checkpoint once with its metadata (model name) and the input normalization inside the model (a
/// Normalize layer), and refuses, with exit code 4, a checkpoint that lacks what it needs instead of guessing: the bug
/// was a file without normalization that evaluated with mean 0 / std 1 and exit 0 at a wrong accuracy. Files of the
/// earlier layouts (version 0's cli.* entries, version 1's input_normalization, both with the normalization outside the
/// model) are migrated and evaluate exactly as before; files of a newer layout are refused.
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

    /// <summary>
    /// The trained checkpoint as the earlier layouts wrote it: the model without its Normalize layer (the tensors one
    /// layer down), metadata version <paramref name="version"/>, and the layer's mean and std as the recorded
    /// normalization when <paramref name="record"/>.
    /// </summary>
    private static async Task<string> Legacy(string name, int version, bool record)
    {
        var (dir, _) = await Trained.Value;
        CheckpointContent content = CheckpointFile.Read(Path.Combine(dir, "last.ckpt"));
        var architecture = (JsonObject)JsonNode.Parse(content.Metadata["architecture"])!;
        var layers = (JsonArray)architecture["layers"]!;
        var normalize = (JsonObject)layers[0]!;
        Assert.Equal("Normalize", normalize["type"]!.GetValue<string>());
        float mean = normalize["mean"]![0]!.GetValue<float>(), std = normalize["std"]![0]!.GetValue<float>();
        layers.RemoveAt(0);
        content.Metadata["architecture"] = architecture.ToJsonString();
        var tensors = content.Tensors.ToList();
        content.Tensors.Clear();
        foreach (var (key, tensor) in tensors)
        {
            int prefix = key.IndexOf(':') + 1, colon = key.IndexOf(':', prefix);
            int index = int.Parse(key.AsSpan(prefix, colon - prefix), CultureInfo.InvariantCulture);
            content.Tensors[string.Concat(key.AsSpan(0, prefix), (index - 1).ToString(CultureInfo.InvariantCulture), key.AsSpan(colon))] = tensor;
        }
        var m = content.Metadata;
        m.Remove("input_normalization");
        if (version == 0)
        {
            foreach (string key in new[] { "metadata_version", "model", "batch_size" }) m.Remove(key);
            m["cli.model"] = "lenet5";
            m["cli.batch_size"] = "50";
            m["cli.seed"] = "42";
            if (record)
            {
                m["cli.normalization_mean"] = mean.ToString("R", CultureInfo.InvariantCulture);
                m["cli.normalization_std"] = std.ToString("R", CultureInfo.InvariantCulture);
            }
        }
        else
        {
            m["metadata_version"] = version.ToString(CultureInfo.InvariantCulture);
            if (record) m["input_normalization"] = FormattableString.Invariant($"{{\"mean\": {mean:R}, \"std\": {std:R}}}");
        }
        string path = Path.Combine(CliHarness.TempDirectory("legacy"), name);
        CheckpointFile.Write(path, content);
        return path;
    }

    [Fact]
    public async Task The_checkpoint_carries_the_input_normalization_as_the_models_first_layer()
    {
        var (dir, _) = await Trained.Value;
        var saved = SavedCheckpoint.Read(Path.Combine(dir, "last.ckpt"));
        Assert.Equal(CheckpointMetadata.CurrentVersion, saved.Metadata.Version);
        Assert.Equal("lenet5", saved.Metadata.Model);
        Assert.Equal(ConvNet.Gpu.Data.Normalization.Identity, saved.Metadata.InputNormalization); // nothing outside the model
        Assert.Null(saved.Metadata.MigratedNormalization);
        // The normalization is measured on the 200 training images used: not the identity.
        var normalize = (JsonObject)saved.Architecture["layers"]![0]!;
        Assert.Equal("Normalize", normalize["type"]!.GetValue<string>());
        Assert.InRange(normalize["mean"]![0]!.GetValue<float>(), 0.1f, 0.5f);
        Assert.InRange(normalize["std"]![0]!.GetValue<float>(), 0.1f, 0.6f);
        Assert.Empty(Directory.GetFiles(dir, "*" + AtomicFile.TemporaryInfix + "*"));
    }

    [Fact]
    public async Task A_checkpoint_without_its_input_normalization_is_refused_by_evaluate_and_resume()
    {
        string path = await Legacy("no-normalization.ckpt", version: 1, record: false);

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
    public async Task Checkpoints_of_the_earlier_layouts_are_migrated_and_evaluate_as_before()
    {
        var (_, expected) = await Trained.Value;
        string v0 = await Legacy("legacy-v0.ckpt", version: 0, record: true);
        string v1 = await Legacy("legacy-v1.ckpt", version: 1, record: true);
        string incomplete = await Legacy("legacy-first-write.ckpt", version: 0, record: false);

        Assert.Equal(expected, Accuracy(await Evaluate(v0)));
        Assert.Equal(expected, Accuracy(await Evaluate(v1)));
        var migrated = SavedCheckpoint.Read(v1);
        Assert.Equal(1, migrated.Metadata.Version);
        Assert.NotNull(migrated.Metadata.MigratedNormalization);
        Assert.Equal("Normalize", migrated.Architecture["layers"]![0]!["type"]!.GetValue<string>());
        CliResult refused = await Evaluate(incomplete);
        Assert.True(refused.ExitCode == ExitCodes.Checkpoint, refused.ToString());
        Assert.Contains("input normalization", refused.Err);

        // A migrated checkpoint resumes, and the run's new checkpoints are of the current layout.
        string output = CliHarness.TempDirectory("legacy-resume");
        CliResult resume = await CliHarness.RunAsync("train", "--resume", v1, "--epochs", "2", "--sample", "--limit", "200", "--device", "cpu", "--out", output);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.Contains("moved into the model", resume.Out + resume.Err);
        Assert.Equal(CheckpointMetadata.CurrentVersion, ModelCheckpoint.ReadMetadata(Path.Combine(output, "last.ckpt")).Version);
    }

    [Fact]
    public async Task A_checkpoint_with_a_newer_metadata_layout_is_refused()
    {
        string path = await Variant("newer.ckpt", m => m["metadata_version"] = "3");

        CliResult r = await Evaluate(path);

        Assert.True(r.ExitCode == ExitCodes.Checkpoint, r.ToString());
        Assert.Contains("version 3, newer than this build reads (2)", r.Err);
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
