using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Data;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

/// <summary>
/// The metadata bag goes into the same single write as the weights; the trainer's run settings (input normalization,
/// batch size, divergence references) are recorded by the library itself, and a resumed run refuses other settings.
/// </summary>
public sealed class CheckpointMetadataTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _b.Dispose();
        _dir.Dispose();
    }

    private Sequential Model() => new Sequential(_b, (1, 8, 8), seed: 3).Add(new Flatten(), new Dense(8), new ReLU(), new Dense(3));

    [Fact]
    public void A_model_checkpoint_round_trips_the_bag()
    {
        string path = _dir.File("model.ckpt");
        using (var model = Model())
            ModelCheckpoint.Save(path, model, new CheckpointMetadata
            {
                Model = "tiny-mlp",
                InputNormalization = new Normalization(0.25f, 0.5f),
                Entries = new Dictionary<string, string> { ["dataset"] = "squares", ["run.id"] = "7" },
            });

        CheckpointMetadata m = ModelCheckpoint.ReadMetadata(path);

        Assert.Equal("tiny-mlp", m.Model);
        Assert.Equal(new Normalization(0.25f, 0.5f), m.InputNormalization);
        Assert.Equal("squares", m.Entries["dataset"]);
        Assert.Equal("7", m.Entries["run.id"]);
        Assert.Equal(CheckpointMetadata.CurrentVersion, m.Version);
    }

    [Fact]
    public void A_model_saved_without_a_bag_records_no_normalization_which_means_none_from_version_2_and_is_refused_before()
    {
        string path = _dir.File("bare.ckpt");
        using (var model = Model()) model.Save(path);

        CheckpointMetadata m = ModelCheckpoint.ReadMetadata(path);

        // Version 2: the normalization lives in the model; no entry means nothing is applied outside it.
        Assert.Null(m.InputNormalization);
        Assert.Equal(Normalization.Identity, m.RequireInputNormalization(path));
        // Versions 0 and 1 applied it outside the model: a file that does not record it cannot be read without guessing.
        var e = Assert.Throws<CheckpointFormatException>(() => (m with { Version = 1 }).RequireInputNormalization(path));
        Assert.Contains("input normalization", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("a/b")]
    public void Invalid_names_are_refused_before_anything_is_written(string name)
    {
        string path = _dir.File("invalid.ckpt");
        using var model = Model();

        Assert.Throws<ConvNetArgumentException>(() => ModelCheckpoint.Save(path, model, new CheckpointMetadata { Model = name }));
        Assert.Throws<ConvNetArgumentException>(() => ModelCheckpoint.Save(path, model,
            new CheckpointMetadata { Entries = new Dictionary<string, string> { [name] = "x" } }));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void A_training_checkpoint_records_the_trainers_normalization_batch_size_and_divergence_references()
    {
        var data = SyntheticData.Squares(48, 2);
        var normalization = Normalization.FromDataset(data);
        string path = _dir.File("train.ckpt");
        using (var model = Model())
        using (var opt = new Adam(0.01f))
        {
            var trainer = new Trainer(model, opt);
            trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16, Normalization = normalization });
            trainer.SaveCheckpoint(path, new CheckpointMetadata { Model = "tiny" });
        }

        var saved = SavedCheckpoint.Read(path);
        Assert.Equal(normalization, saved.Metadata.InputNormalization);
        Assert.Equal("tiny", saved.Metadata.Model);
        Assert.Equal(16, saved.Training!.State.BatchSize);
        Assert.NotNull(saved.Training.State.DivergenceStartLoss);
        Assert.NotNull(saved.Training.State.DivergenceBestEpochAccuracy);

        using var restored = saved.LoadModel(_b);
        using var adam = new Adam(0.01f);
        var resumed = new Trainer(restored, adam);
        resumed.RestoreCheckpoint(saved);
        Assert.Equal(normalization, resumed.InputNormalization);
        Assert.Equal(16, resumed.BatchSize);
        Assert.Equal(new DivergenceReference(saved.Training.State.DivergenceStartLoss, saved.Training.State.DivergenceBestEpochAccuracy), resumed.Divergence);
    }

    [Fact]
    public void A_bag_that_contradicts_the_trainers_normalization_is_refused()
    {
        var data = SyntheticData.Squares(32, 2);
        using var model = Model();
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16, Normalization = new Normalization(0.2f, 0.3f) });

        var e = Assert.Throws<ConvNetArgumentException>(() =>
            trainer.SaveCheckpoint(_dir.File("x.ckpt"), new CheckpointMetadata { InputNormalization = Normalization.Identity }));
        Assert.Contains("normalization", e.Message);
        Assert.False(File.Exists(_dir.File("x.ckpt")));
    }

    [Fact]
    public void Resuming_with_another_normalization_or_mid_epoch_with_another_batch_size_is_refused()
    {
        var data = SyntheticData.Squares(64, 2);
        var normalization = Normalization.FromDataset(data);
        using var model = Model();
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        trainer.Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 16, Normalization = normalization, MaxSteps = 2 });
        Assert.Equal(new TrainingPosition(0, 2, 2), trainer.Position);

        var other = Assert.Throws<ConvNetArgumentException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 16 }));
        Assert.Contains("input normalization", other.Message);
        var size = Assert.Throws<ConvNetArgumentException>(() =>
            trainer.Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 8, Normalization = normalization }));
        Assert.Contains("batch size 16", size.Message);

        // The same settings continue.
        var history = trainer.Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 16, Normalization = normalization });
        Assert.Equal(StopReason.Completed, history.StopReason);
    }
}
