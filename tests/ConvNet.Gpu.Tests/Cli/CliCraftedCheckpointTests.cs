using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// Crafted checkpoints with valid checksums: every field is checked before anything is built or run, and each bad one
/// is exit code 4 with a one-line reason naming the file and the field. Before, such files crashed with exit 1
/// (DivideByZero for batch size 0, "startBatch must be &lt;= 47"), gave exit 2 (batch size -64, a NaN learning rate),
/// or built the model first (a Dense of 4,000,000 units ran 34 s up to 6.5 GB before an overflow).
/// </summary>
public sealed class CliCraftedCheckpointTests
{
    private static readonly Lazy<Task<string>> Trained = new(async () =>
    {
        string dir = CliHarness.TempDirectory("crafted");
        CliResult r = await CliHarness.RunAsync("train", "--sample", "--limit", "200", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        return Path.Combine(dir, "last.ckpt");
    });

    /// <summary>A field, how to break it, what the message must say, and whether resuming (training fields) or evaluating (model fields) reads it.</summary>
    public sealed record Case(string Field, Action<CheckpointContent> Craft, string Reason, bool Resume, string? Kind = null)
    {
        public override string ToString() => Field;
    }

    private static Action<CheckpointContent> Meta(string key, string value) => c => c.Metadata[key] = value;

    private static Action<CheckpointContent> Optimizer(Action<JsonObject> edit) => c =>
    {
        var o = JsonNode.Parse(c.Metadata["optimizer"])!.AsObject();
        edit(o);
        c.Metadata["optimizer"] = o.ToJsonString();
    };

    private static Action<CheckpointContent> Layer(string name, Action<JsonObject> edit) => c =>
    {
        var a = JsonNode.Parse(c.Metadata["architecture"])!.AsObject();
        edit(a["layers"]!.AsArray().Single(l => l!["name"]!.GetValue<string>() == name)!.AsObject());
        c.Metadata["architecture"] = a.ToJsonString();
    };

    private static Action<CheckpointContent> Tensor(string key, Func<CheckpointTensor, CheckpointTensor> edit) => c => c.Tensors[key] = edit(c.Tensors[key]);

    private static CheckpointTensor WithValue(CheckpointTensor t, int index, float value)
    {
        var data = (float[])t.Data.Clone();
        data[index] = value;
        return new CheckpointTensor(t.Dimensions, data);
    }

    public static TheoryData<Case> Cases() =>
    [
        // Training position and settings (read by --resume).
        new Case("epoch negative", Meta("epoch", "-1"), "metadata 'epoch' must be a whole number from 0", true),
        new Case("epoch not a number", Meta("epoch", "one"), "metadata 'epoch' must be a whole number from 0", true),
        new Case("batch negative", Meta("batch", "-3"), "metadata 'batch' must be a whole number from 0", true),
        new Case("global step negative", Meta("global_step", "-5"), "metadata 'global_step' must be a whole number from 0", true),
        new Case("global step below the batch", c => { c.Metadata["batch"] = "3"; c.Metadata["global_step"] = "2"; }, "fewer than the 3 batches", true),
        new Case("batch size 0", Meta("batch_size", "0"), "metadata 'batch_size' must be a whole number from 1", true),
        new Case("batch size -64", Meta("batch_size", "-64"), "metadata 'batch_size' must be a whole number from 1", true),
        new Case("batch size missing mid-epoch", c => { c.Metadata.Remove("batch_size"); c.Metadata["batch"] = "2"; c.Metadata["global_step"] = "6"; },
            "does not record the batch size", true),
        new Case("learning rate NaN", Meta("learning_rate", "NaN"), "metadata 'learning_rate' must be a finite number >= 0", true),
        new Case("learning rate negative", Meta("learning_rate", "-0.1"), "metadata 'learning_rate' must be a finite number >= 0", true),
        new Case("learning rate not a number", Meta("learning_rate", "fast"), "metadata 'learning_rate' must be a finite number >= 0", true),
        new Case("optimizer learning rate as a string", Optimizer(o => o["learning_rate"] = "0.001"), "\"learning_rate\" must be a finite number, found \"0.001\"", true),
        new Case("optimizer of an unknown type", Optimizer(o => o["type"] = "lbfgs"), "unknown type 'lbfgs'", true),
        new Case("optimizer beta out of range", Optimizer(o => o["beta1"] = 1.5), "betas must be in [0, 1)", true),
        new Case("optimizer with an unknown field", Optimizer(o => o["warmup"] = 10), "has no field 'warmup'", true),
        new Case("optimizer field missing", Optimizer(o => o.Remove("epsilon")), "\"epsilon\" must be a finite number, found nothing", true),
        new Case("optimizer not JSON", Meta("optimizer", "adam, lr=0.001"), "metadata 'optimizer' is not valid JSON", true),
        new Case("optimizer steps negative", Meta("optimizer_steps", "-1"), "metadata 'optimizer_steps' must be a whole number from 0", true),
        new Case("data seed negative", Meta("data_seed", "-1"), "metadata 'data_seed' must be a whole number", true),
        new Case("divergence start loss negative", Meta("divergence", "{\"start_loss\":-1}"), "field 'start_loss' must be a number", true),
        new Case("divergence unknown field", Meta("divergence", "{\"peak\":3}"), "metadata 'divergence' has an unknown field 'peak'", true),
        new Case("Adam second moment negative", Tensor("optim:8:fc1/weight:v", t => WithValue(t, 5, -1f)), "its values must be finite and non-negative", true),
        new Case("optimizer slot of no parameter", c => c.Tensors["optim:99:ghost/weight:m"] = new CheckpointTensor([1], [0f]), "belongs to no optimizer slot", true),

        // The model (read by evaluate and by --resume).
        new Case("kind unknown", _ => { }, "found kind \"convnet.other\"", false, Kind: "convnet.other"),
        new Case("architecture not JSON", Meta("architecture", "{layers: ["), "the architecture metadata is not valid JSON", false),
        new Case("architecture without layers", Meta("architecture", "{\"format\":\"convnet.sequential\"}"), "needs \"layers\" as an array of objects", false),
        new Case("unknown layer type", Layer("relu1", l => l["type"] = "Swish"), "unknown layer type 'Swish'", false),
        new Case("Dense of 4,000,000 units", Layer("fc1", l => l["units"] = 4_000_000), "would create parameter 'weight' of dimensions [4000000, 400]", false),
        new Case("layer field of the wrong type", Layer("conv1", l => l["out_channels"] = "six"), "the saved architecture cannot be built", false),
        new Case("input shape of other data", c =>
        {
            var a = JsonNode.Parse(c.Metadata["architecture"])!.AsObject();
            a["input_shape"] = new JsonArray(1, 32, 32);
            c.Metadata["architecture"] = a.ToJsonString();
        }, "would create parameter 'weight' of dimensions [120, 576]", false),
        new Case("weight NaN", Tensor("param:1:conv1/weight", t => WithValue(t, 7, float.NaN)), "holds NaN at flat index 7", false),
        new Case("weight infinite", Tensor("param:10:fc2/bias", t => WithValue(t, 0, float.PositiveInfinity)), "its values must be finite", false),
        new Case("weight of another shape", Tensor("param:1:conv1/weight", t => new CheckpointTensor([6, 25], t.Data)), "'weight' of dimensions [6, 1, 5, 5]", false),
        new Case("weight missing", c => c.Tensors.Remove("param:12:fc3/bias"), "would create parameter 'bias' of dimensions [10]", false),
        new Case("tensor of no layer", c => c.Tensors["param:13:ghost/weight"] = new CheckpointTensor([2], [0f, 0f]), "belongs to no layer", false),
        new Case("tensor of an unknown kind", c => c.Tensors["gradient:0"] = new CheckpointTensor([1], [0f]), "unexpected tensor 'gradient:0'", false),
        new Case("unexpected blob", c => c.Blobs["rng.cuda"] = [1, 2, 3], "unexpected blob 'rng.cuda'", false),
        new Case("dropout state of the wrong length", c => c.Blobs["rng.dropout"] = new byte[16], "should hold 0 (seed, counter) pairs, found 16 bytes", false),
        new Case("metadata version not a number", Meta("metadata_version", "v1"), "metadata 'metadata_version' must be a whole number >= 1", false),
        new Case("model name with a path", Meta("model", "../lenet5"), "metadata 'model' must be 1-128 letters", false),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_crafted_field_is_exit_4_with_a_one_line_reason(Case crafted)
    {
        string source = await Trained.Value;
        CheckpointContent content = CheckpointFile.Read(source);
        if (crafted.Kind is not null) content = WithKind(content, crafted.Kind);
        crafted.Craft(content);
        string path = Path.Combine(CliHarness.TempDirectory("crafted-case"), "crafted.ckpt");
        CheckpointFile.Write(path, content); // valid header and checksums: only the field is wrong

        CliResult r = crafted.Resume
            ? await CliHarness.RunAsync("train", "--resume", path, "--epochs", "3", "--sample", "--limit", "200", "--device", "cpu",
                "--out", CliHarness.TempDirectory("crafted-out"))
            : await CliHarness.RunAsync("evaluate", "--checkpoint", path, "--sample", "--limit", "200", "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Checkpoint, $"{crafted.Field}: {r}");
        Assert.Contains(crafted.Reason, r.Err);
        Assert.Contains(path, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.DoesNotContain("Epoch ", r.Out); // nothing was trained
    }

    private static CheckpointContent WithKind(CheckpointContent source, string kind)
    {
        var copy = new CheckpointContent(kind);
        foreach (var (k, v) in source.Metadata) copy.Metadata[k] = v;
        foreach (var (k, v) in source.Tensors) copy.Tensors[k] = v;
        foreach (var (k, v) in source.Blobs) copy.Blobs[k] = v;
        return copy;
    }

    [Fact]
    public async Task Resuming_a_mid_epoch_checkpoint_on_fewer_images_is_exit_4()
    {
        var (last, stoppedAt) = await CheckpointOracle.InterruptMidEpochAsync(CliHarness.TempDirectory("mid-epoch"), "batch    24/40");
        Assert.InRange(stoppedAt, 21, 39); // more batches than the 200 images below give

        CliResult r = await CliHarness.RunAsync("train", "--resume", last, "--epochs", "2", "--sample", "--limit", "200", "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Checkpoint, r.ToString());
        Assert.Contains($"the run stopped after batch {stoppedAt} of epoch 1, but these 200 images give only 20 batches of 10", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }
}
