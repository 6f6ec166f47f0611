using System.Globalization;
using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>
/// The CLI's adapter over the training library: a <see cref="Model"/> from the <see cref="ModelRegistry"/>, its
/// <see cref="Trainer"/> and optimizer (from the <see cref="OptimizerRegistry"/>) on one backend, plus the run settings
/// its checkpoints carry (the <see cref="CheckpointMetadata"/>: model name). The input normalization is part of the
/// model: a <see cref="Normalize"/> layer in front, with the training set's per-channel mean and std, saved in every
/// checkpoint and applied by evaluation, prediction and ONNX export; checkpoints from before (metadata version 0 or 1)
/// are migrated when read (see <see cref="CheckpointMetadata"/>). Everything the commands need from the library goes
/// through here, so a change in the library's API touches this file only.
/// </summary>
internal sealed partial class TrainingSession : IDisposable
{
    /// <summary>The name shown for a checkpoint of a model that is not one of the ready-made ones.</summary>
    private const string CustomModel = "custom";
    private const int EvaluationBatchSize = 500;

    private readonly Model _model;
    private readonly Trainer _trainer;

    private TrainingSession(string modelName, Model model, Optimizer optimizer, ulong seed, int batchSize)
    {
        ModelName = modelName;
        _model = model;
        _trainer = new Trainer(model, optimizer);
        Seed = seed;
        BatchSize = batchSize;
    }

    /// <summary>The model name (see <see cref="ModelRegistry"/>), or "custom".</summary>
    public string ModelName { get; }

    /// <summary>Trainable parameter count.</summary>
    public long ParameterCount => _model.TrainableParameterCount;

    /// <summary>Optimizer name (sgd, adam, adamw).</summary>
    public string Optimizer => _trainer.Optimizer.Name;

    /// <summary>Base learning rate.</summary>
    public double LearningRate => double.Parse(_trainer.Optimizer.BaseLearningRate.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture); // 0.001f prints as 0.001

    /// <summary>Seed of initialization and data order.</summary>
    public ulong Seed { get; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Where training stands (after a resume: the checkpoint's position).</summary>
    public TrainPosition Position => new(_trainer.Position.Epoch, _trainer.Position.Batch);

    /// <summary>
    /// Builds a fresh model and optimizer: the ready-made model with a <see cref="Normalize"/> layer in front holding
    /// the per-channel mean and std of <paramref name="train"/>'s images.
    /// </summary>
    public static TrainingSession Create(string model, IBackend backend, Dataset train, string optimizer, double learningRate, ulong seed, int batchSize)
    {
        Model network;
        using (Model bare = ModelRegistry.Create(model, backend, train.SampleShape, train.ClassCount, seed))
            network = NormalizeModels.Prepend(bare, Normalize.FromDataset(train));
        try
        {
            return new TrainingSession(model, network, OptimizerRegistry.Create(optimizer, (float)learningRate), seed, batchSize);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The model's input normalization: its leading <see cref="Normalize"/> layer's statistics (per channel), or null when it has none.</summary>
    public Normalize? InputNormalization => _model.Layers.Count > 0 ? _model.Layers[0] as Normalize : null;

    /// <summary>The Summary table of <paramref name="model"/> built for 1x28x28 inputs and 10 classes, on the CPU.</summary>
    public static string SummaryOf(string model)
    {
        using IBackend cpu = Backend.Cpu(1);
        using Model network = ModelRegistry.Create(model, cpu, Nn.Shapes.Image(1, 28, 28), FashionMnist.ClassNames.Count, 42);
        return network.Summary().ToString();
    }

    /// <summary>
    /// Throws when <paramref name="data"/> does not fit the model's input or classes, or (for a resumed run) when it gives
    /// fewer batches per epoch than the saved position has already run. For a session read from a checkpoint this is
    /// a checkpoint error (exit code 4: the file belongs to other data); otherwise a data error (exit code 3).
    /// </summary>
    public void CheckCompatible(Dataset data)
    {
        Func<string, CliException> fail = Checkpoint is null ? m => CliException.DataError(m)
            : m => CliException.CheckpointError($"{Checkpoint} does not fit the data: {m}");
        if (!data.SampleShape.SameDimensions(_model.InputShape))
            throw fail($"the data's images are {data.SampleShape} but the model '{ModelName}' takes {_model.InputShape}.");
        if (_model.OutputShape.Rank != 1 || data.ClassCount > _model.OutputShape[0])
            throw fail($"the data has {data.ClassCount} classes but the model '{ModelName}' outputs {_model.OutputShape}.");
        if (Position.BatchesIntoEpoch > BatchesPerEpoch(data))
            throw fail($"the run stopped after batch {Position.BatchesIntoEpoch} of epoch {Position.CompletedEpochs + 1}, but these {data.Count:N0} " +
                $"images give only {BatchesPerEpoch(data)} batches of {BatchSize}; resume on the data (and --limit) it was trained with.");
    }

    /// <summary>The checkpoint this session was read from, or null for a new run.</summary>
    public string? Checkpoint { get; private init; }

    /// <summary>Batches per epoch for <paramref name="train"/> (the last one may be smaller).</summary>
    public int BatchesPerEpoch(Dataset train) => (train.Count + BatchSize - 1) / BatchSize;

    /// <summary>The Summary table.</summary>
    public string Summary() => _model.Summary().ToString();

    /// <summary>
    /// The first convolution layer's weights (K, C/groups, KH, KW), or null when the model has none. When that layer is
    /// the model's first, its outputs for <paramref name="probe"/>'s image <paramref name="probeIndex"/> come too.
    /// </summary>
    public FilterBank? FirstConvFilters(Dataset? probe = null, int probeIndex = 0)
    {
        foreach ((string path, Layer layer) in _model.AllLayers())
        {
            if (layer is not Conv2D conv) continue;
            float[] weights = conv.Weight.Value.ToArray();
            TensorShape shape = conv.Weight.Value.Shape;
            string label = $"{layer.Name} ({layer.TypeName} {conv.InputShape[0]}→{conv.OutChannels}, {conv.Spec.KernelH}×{conv.Spec.KernelW}; layer {path})";
            FilterResponses? responses = probe is not null && probe.Count > probeIndex && ReferenceEquals(FirstComputingLayer(), conv)
                ? Responses(conv, probe, probeIndex)
                : null;
            return new FilterBank(label, weights, shape[0], shape[1], shape[2], shape[3], responses);
        }
        return null;
    }

    // The first layer after the input normalization.
    private Layer? FirstComputingLayer() => _model.Layers.FirstOrDefault(l => l is not Normalize);

    /// <summary>Runs the normalization and the first convolution alone on one image: (1, C, H, W) in, (1, K, OH, OW) out.</summary>
    private FilterResponses Responses(Conv2D conv, Dataset probe, int index)
    {
        float[] raw = probe.GetImage(index).ToArray();
        TensorShape sample = probe.SampleShape;
        using Tensor input = _model.Backend.Allocate(TensorShape.Nchw(1, sample[0], sample[1], sample[2]));
        input.Upload(raw);
        Tensor normalized = InputNormalization is { } normalize ? normalize.Forward(input, training: false) : input;
        Tensor output = conv.Forward(normalized, training: false);
        float[] maps = output.ToArray();
        return new FilterResponses(raw, sample[1], sample[2], probe.ClassNames[probe.Labels.Span[index]], maps, output.Shape[2], output.Shape[3]);
    }

    /// <summary>
    /// Trains up to <paramref name="epochs"/> epochs from <see cref="Position"/>; stops at a batch boundary when cancelled,
    /// and with a <see cref="TrainingDivergedException"/> when <paramref name="divergence"/> trips. With
    /// <paramref name="parallel"/> (data-parallel training over several ranks) the batch size is the global batch.
    /// </summary>
    public FitOutcome Fit(Dataset train, int epochs, DivergencePolicy divergence, Action<int, int> onEpochStart, Action<BatchEvent> onBatch,
        Action<EpochEvent> onEpochEnd, CancellationToken cancellationToken, ConvNet.Gpu.Training.Distributed.DataParallel? parallel = null)
    {
        int startEpoch = _trainer.Position.Epoch, startBatch = _trainer.Position.Batch;
        int announced = -1;
        EventHandler<BatchProgress> batchHandler = (_, p) =>
        {
            if (p.Epoch != announced)
            {
                announced = p.Epoch;
                onEpochStart(p.Epoch + 1, p.Epoch == startEpoch ? startBatch : 0);
            }
            onBatch(new BatchEvent(p.Epoch + 1, p.Batch + 1, p.BatchesPerEpoch, p.EpochLoss, p.EpochAccuracy, p.ImagesPerSecond));
        };
        EventHandler<EpochMetrics> epochHandler = (_, e) =>
            onEpochEnd(new EpochEvent(e.Epoch + 1, e.TrainLoss, e.TrainAccuracy, e.Seconds, e.ImagesPerSecond));
        _trainer.BatchCompleted += batchHandler;
        _trainer.EpochCompleted += epochHandler;
        try
        {
            TrainingHistory history = _trainer.Fit(train, new TrainingOptions
            {
                UntilEpoch = epochs, // --epochs counts every epoch of the run, those before a --resume included
                BatchSize = BatchSize,
                Shuffle = true,
                Seed = Seed,
                Divergence = divergence,
                CancellationToken = cancellationToken,
                DataParallel = parallel,
            });
            return new FitOutcome(history.StopReason == StopReason.Cancelled, Position);
        }
        finally
        {
            _trainer.BatchCompleted -= batchHandler;
            _trainer.EpochCompleted -= epochHandler;
        }
    }

    /// <summary>A full pass over <paramref name="data"/> in inference mode: loss, accuracy, confusion, and each sample's prediction.</summary>
    public TestResult Evaluate(Dataset data)
    {
        EvaluationResult result = Evaluator.Evaluate(_model, data.Images.Span, data.Labels.Span, EvaluationBatchSize);
        var matrix = result.ConfusionMatrix ?? throw new InvalidOperationException("A classifier's evaluation has a confusion matrix.");
        int classes = matrix.ClassCount;
        var confusion = new long[classes, classes];
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
                confusion[i, j] = matrix[i, j];
        return new TestResult(result.Loss, result.Accuracy, confusion, [], []);
    }

    /// <summary>Like <see cref="Evaluate"/>, plus the predicted class and its probability for every sample (a second pass).</summary>
    public TestResult EvaluateWithPredictions(Dataset data)
    {
        TestResult summary = Evaluate(data);
        Prediction prediction = Evaluator.Predict(_model, data.Images.Span, data.Count, EvaluationBatchSize);
        var confidence = new float[data.Count];
        for (int i = 0; i < data.Count; i++) confidence[i] = prediction.ProbabilitiesOf(i)[prediction.Classes[i]];
        return summary with { Predicted = prediction.Classes, Confidence = confidence };
    }

    /// <summary>
    /// Exports the model to ONNX at <paramref name="path"/> (atomically). The input normalization is the model's first
    /// node (its Normalize layer), so a runtime feeds pixels scaled to [0, 1]; the metadata says so
    /// ("convnet.model", "convnet.input"). Returns the Normalize layer, or null when the model has none.
    /// </summary>
    public Normalize? ExportOnnx(string path, ConvNet.Gpu.Onnx.OnnxExportOptions options)
    {
        var metadata = new Dictionary<string, string>(options.Metadata ?? new Dictionary<string, string>())
        {
            ["convnet.model"] = ModelName,
            ["convnet.input"] = InputNormalization is null
                ? "pixels scaled to [0, 1]"
                : "pixels scaled to [0, 1]; the model normalizes them itself (its first node, (x - mean[c]) / std[c] per channel)",
        };
        ConvNet.Gpu.Onnx.OnnxExport.ExportOnnx(_model, path, options with { Metadata = metadata });
        return InputNormalization;
    }

    /// <summary>The model's per-sample input and output shapes.</summary>
    public (TensorShape Input, TensorShape Output) ModelShapes => (_model.InputShape, _model.OutputShape);

    /// <summary>
    /// Writes a training checkpoint with the model (its Normalize layer included), optimizer, position and the run's
    /// metadata (model name) in one atomic write; a failure (full disk, permissions) is exit code 6 and leaves any previous
    /// file at <paramref name="path"/> as it was.
    /// </summary>
    public void Save(string path)
    {
        try
        {
            _trainer.SaveCheckpoint(path, new CheckpointMetadata
            {
                Model = ModelName == CustomModel ? null : ModelName,
                InputNormalization = Normalization.Identity, // the normalization is the model's Normalize layer
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.OutputError($"cannot write the checkpoint {path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _trainer.Dispose();
        _trainer.Optimizer.Dispose();
        _model.Dispose();
    }
}
