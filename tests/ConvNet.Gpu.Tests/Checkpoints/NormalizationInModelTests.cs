using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.IO;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

/// <summary>
/// Issue 16, item 3: the input normalization belongs to the model. A Normalize layer round-trips through save, load and
/// Predict on raw inputs; checkpoints of the earlier layouts (normalization recorded in the metadata, applied outside the
/// model) are migrated to the same predictions, training checkpoints included, or refused when they cannot be.
/// </summary>
public sealed class NormalizationInModelTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"normalize-{Guid.NewGuid():N}");

    public NormalizationInModelTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _b.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Sequential Classifier(Normalize? normalize = null)
    {
        var model = new Sequential(_b, (1, 8, 8), seed: 6);
        if (normalize is not null) model.Add(normalize);
        return model.Add(new Conv2D(4, 3, padding: 1), new ReLU(), new Flatten(), new Dense(3));
    }

    [Fact]
    public void A_Normalize_layer_round_trips_through_save_load_and_Predict_on_raw_inputs()
    {
        var data = SyntheticData.Squares(64, 3);
        using var model = Classifier(Normalize.FromDataset(data));
        using var opt = new Adam(0.01f);
        new Trainer(model, opt).Fit(data, new TrainingOptions { Epochs = 2, BatchSize = 16 });
        string path = Path.Combine(_dir, "model.ckpt");
        model.Save(path);

        using var loaded = ModelCheckpoint.LoadModel(path, _b);
        var normalize = Assert.IsType<Normalize>(loaded.Layers[0]);
        Assert.Equal(((Normalize)model.Layers[0]).Mean, normalize.Mean);
        Assert.Equal(((Normalize)model.Layers[0]).Std, normalize.Std);
        var raw = data.Images.Span;
        Assert.Equal(model.Predict(raw, data.Count).Probabilities, loaded.Predict(raw, data.Count).Probabilities);
        // Predict applies it: the same model without the layer needs the inputs normalized by hand for the same answer.
        var stats = ChannelNormalization.FromDataset(data);
        var normalized = raw.ToArray();
        for (int i = 0; i < normalized.Length; i++) normalized[i] = (float)((normalized[i] - (double)stats.Mean[0]) / stats.Std[0]);
        using var bare = Classifier();
        for (int i = 0; i < bare.NamedParameters.Count; i++)
            bare.NamedParameters[i].Parameter.Value.Upload(loaded.NamedParameters[i].Parameter.Value.ToArray());
        TensorAssert.Close(loaded.Predict(raw, data.Count).Probabilities, bare.Predict(normalized, data.Count).Probabilities, new Tolerance(1e-5, 1e-5));
    }

    // A checkpoint as metadata version 1 wrote it: the model without a Normalize layer, the normalization in the metadata.
    private string Version1(string name, Model model, Normalization normalization, Trainer? trainer = null)
    {
        string path = Path.Combine(_dir, name);
        if (trainer is null) ModelCheckpoint.Save(path, model, new CheckpointMetadata { InputNormalization = normalization });
        else trainer.SaveCheckpoint(path, new CheckpointMetadata { InputNormalization = normalization });
        var content = CheckpointFile.Read(path);
        content.Metadata["metadata_version"] = "1";
        CheckpointFile.Write(path, content);
        return path;
    }

    [Fact]
    public void A_version_1_checkpoint_is_migrated_to_a_Normalize_layer_with_the_same_predictions()
    {
        var data = SyntheticData.Squares(48, 4);
        var normalization = new Normalization(0.3f, 0.45f);
        using var model = Classifier();
        string path = Version1("v1.ckpt", model, normalization);

        var saved = SavedCheckpoint.Read(path);
        Assert.Equal(normalization, saved.Metadata.MigratedNormalization);
        Assert.Equal(Normalization.Identity, saved.Metadata.InputNormalization);
        using var loaded = saved.LoadModel(_b);
        var normalize = Assert.IsType<Normalize>(loaded.Layers[0]);
        Assert.Equal([0.3f], normalize.Mean);
        Assert.Equal([0.45f], normalize.Std);

        var normalized = data.Images.ToArray();
        normalization.Apply(normalized);
        TensorAssert.Close(loaded.Predict(data.Images.Span, data.Count).Probabilities, model.Predict(normalized, data.Count).Probabilities, new Tolerance(1e-5, 1e-5));
    }

    [Fact]
    public void A_version_1_training_checkpoint_is_migrated_and_resumes()
    {
        var data = SyntheticData.Squares(48, 5);
        var normalization = new Normalization(0.3f, 0.45f);
        using var model = Classifier();
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16, Normalization = normalization });
        string path = Version1("v1-train.ckpt", model, normalization, trainer);

        var saved = SavedCheckpoint.Read(path);
        using var loaded = saved.LoadModel(_b);
        using var resumedOpt = new Adam(0.01f);
        var resumed = new Trainer(loaded, resumedOpt);
        resumed.RestoreCheckpoint(saved);
        Assert.Equal(trainer.Position, resumed.Position);
        Assert.Equal(Normalization.Identity, resumed.InputNormalization);
        // The migrated run continues on raw inputs (its first layer normalizes) exactly as the original on normalized ones.
        var original = trainer.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16, Normalization = normalization });
        var continued = resumed.Fit(data, new TrainingOptions { Epochs = 1, BatchSize = 16 });
        Assert.Equal(original.StepLosses.Count, continued.StepLosses.Count);
        for (int i = 0; i < original.StepLosses.Count; i++) Assert.Equal(original.StepLosses[i], continued.StepLosses[i], 4);
    }

    [Fact]
    public void A_version_1_graph_checkpoint_with_a_normalization_is_refused_and_one_without_loads()
    {
        var x = Model.Input(Shapes.Features(4), "x");
        var y = new Dense(2, name: "fc").Call(x);
        using var graph = new Model(_b, [x], [y], seed: 3);
        string path = Version1("graph.ckpt", graph, new Normalization(0.5f, 2f));
        var e = Assert.Throws<CheckpointFormatException>(() => SavedCheckpoint.Read(path));
        Assert.Contains("graph model", e.Message, StringComparison.Ordinal);
        Assert.Contains("(x - 0.5) / 2", e.Message, StringComparison.Ordinal);

        string identity = Version1("graph-identity.ckpt", graph, Normalization.Identity);
        using var loaded = SavedCheckpoint.Read(identity).LoadModel(_b);
        Assert.DoesNotContain(loaded.Layers, l => l is Normalize);
    }
}
