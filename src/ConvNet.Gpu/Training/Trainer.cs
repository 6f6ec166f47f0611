using System.Diagnostics;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Trains a <see cref="Sequential"/> classifier with an optimizer and a classification loss. <see cref="Fit(Data.Dataset, TrainingOptions)"/> runs
/// epochs of seeded mini-batches with per-batch and per-epoch events, validation, callbacks, cancellation and
/// non-finite-loss handling; <see cref="Position"/> says where training stands so that a checkpoint written at any
/// batch (<see cref="ModelCheckpoint.Save(string, Trainer, CheckpointMetadata?)"/>) resumes exactly there, bit for bit on the CPU.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly bool _ownsLoss;

    /// <summary>Creates a trainer; the loss defaults to softmax cross-entropy on the model's logits.</summary>
    public Trainer(Sequential model, Optimizer optimizer, ClassificationLoss? loss = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (model.Layers.Count > 0 && model.Layers[^1] is Softmax)
            throw new ConvNetArgumentException(
                $"Model '{model.Name}' ends in Softmax, but the trainer's loss expects logits; remove the final Softmax (Predict applies it).");
        Model = model;
        Optimizer = optimizer;
        Loss = loss ?? new SoftmaxCrossEntropyLoss();
        _ownsLoss = loss is null;
    }

    /// <summary>Frees the loss buffers when the trainer created the loss (the model and optimizer belong to the caller).</summary>
    public void Dispose()
    {
        if (_ownsLoss) Loss.Dispose();
    }

    /// <summary>The model being trained.</summary>
    public Sequential Model { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss.</summary>
    public ClassificationLoss Loss { get; }

    /// <summary>Where training stands (restored from checkpoints).</summary>
    public TrainingPosition Position { get; set; }

    /// <summary>
    /// The data-order seed in use: set from <see cref="TrainingOptions.Seed"/> when a run starts from step 0, and
    /// restored from a checkpoint otherwise (so a resumed run sees the same order).
    /// </summary>
    public ulong? DataSeed { get; set; }

    /// <summary>
    /// The normalization of the inputs of the current run: set by Fit from <see cref="TrainingOptions.Normalization"/>
    /// (<see cref="Normalization.Identity"/> when none) and restored from training checkpoints, which record it so that
    /// evaluation and resumption apply the same. Null until a run starts or a checkpoint is restored. A resumed Fit
    /// given another normalization throws instead of training on differently scaled inputs.
    /// </summary>
    public Normalization? InputNormalization { get; set; }

    /// <summary>
    /// The batch size of the current run: set by Fit and restored from training checkpoints (<see cref="Position"/>'s
    /// batch index counts batches of this size). Null until a run starts or a checkpoint is restored.
    /// </summary>
    public int? BatchSize { get; set; }

    /// <summary>What the <see cref="DivergencePolicy"/> judges this run against (saved in and restored from training checkpoints).</summary>
    public DivergenceReference Divergence { get; set; }

    /// <summary>Set by a callback (or any handler) to stop after the current batch or epoch.</summary>
    public bool StopRequested { get; set; }

    /// <summary>Raised after every batch.</summary>
    public event EventHandler<BatchProgress>? BatchCompleted;

    /// <summary>Raised after every epoch, with its metrics.</summary>
    public event EventHandler<EpochMetrics>? EpochCompleted;

    /// <summary>Trains for <paramref name="epochs"/> epochs with default options otherwise (see <see cref="TrainingOptions"/>).</summary>
    public TrainingHistory Fit(Dataset train, int epochs, int batchSize = 64, Dataset? validation = null,
        IReadOnlyList<TrainingCallback>? callbacks = null, CancellationToken cancellationToken = default) =>
        Fit(train, new TrainingOptions
        {
            Epochs = epochs, BatchSize = batchSize, Validation = validation, Callbacks = callbacks ?? [], CancellationToken = cancellationToken,
        });

    /// <summary>
    /// Trains on <paramref name="train"/> from <see cref="Position"/> up to <see cref="TrainingOptions.Epochs"/> epochs
    /// (or until stopped) and returns what happened.
    /// </summary>
    public TrainingHistory Fit(Dataset train, TrainingOptions options)
    {
        using var use = Model.UseGuard.Enter("Fit");
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 0) throw new ConvNetArgumentException($"Epochs must be >= 0, got {options.Epochs}.");
        if (!train.SampleShape.SameDimensions(Model.InputShape))
            throw new ShapeMismatchException($"The training samples have shape {train.SampleShape} but model '{Model.Name}' expects {Model.InputShape}.");
        int classes = Model.OutputShape.Rank == 1 ? Model.OutputShape[0] : throw new InvalidOperationException(
            $"Model '{Model.Name}' outputs {Model.OutputShape}; a classifier must output class scores (F).");
        if (train.ClassCount > classes)
            throw new ShapeMismatchException($"The data has {train.ClassCount} classes but model '{Model.Name}' outputs {classes} scores.");
        if (train.Count == 0)
            throw new ConvNetArgumentException($"The training set '{train.Source}' is empty; there is nothing to train on.", nameof(train));
        if (options.BatchSize < 1)
            throw new ConvNetArgumentException($"The batch size must be at least 1, got {options.BatchSize}.", nameof(options));
        options.Divergence.Validate();
        CheckResumable(options);

        if (Position.GlobalStep == 0 || DataSeed is null) DataSeed = options.Seed;
        InputNormalization = options.Normalization ?? Normalization.Identity;
        BatchSize = options.BatchSize;
        var divergence = new DivergenceMonitor(options.Divergence, Position.GlobalStep == 0 ? default : Divergence, train.ClassCount);
        var parallel = options.DataParallel;
        var loader = new DataLoader(train, options.BatchSize, options.Shuffle, DataSeed.Value, options.DropLast, options.Normalization)
        {
            Shard = parallel?.Shard ?? DataShard.Whole,
        };
        if (Position.Batch > loader.BatchesPerEpoch)
            throw new ConvNetArgumentException(
                $"The run stopped after batch {Position.Batch} of epoch {Position.Epoch + 1}, but the training set '{train.Source}' gives only " +
                $"{loader.BatchesPerEpoch} batches of {options.BatchSize}; continue it on the data it was trained on.", nameof(train));
        float[]? validationImages = PrepareValidation(options);
        var history = new TrainingHistory { StopReason = StopReason.Completed };
        _parameters = Model.Parameters;
        Optimizer.EnsureState(_parameters);
        Model.AnomalyDetection = options.AnomalyDetection;
        StopRequested = false;
        _parallel = parallel;
        parallel?.Attach(this, train, options);
        foreach (var c in options.Callbacks) c.OnTrainBegin(this);

        while (Position.Epoch < options.Epochs)
        {
            int epoch = Position.Epoch;
            if (options.Schedule is not null) Optimizer.LearningRate = options.Schedule.RateAt(epoch, Optimizer.BaseLearningRate);
            double lossSum = 0;
            long seen = 0, correct = 0;
            int skipped = 0;
            var clock = Stopwatch.StartNew();
            int batchesPerEpoch = loader.BatchesPerEpoch;
            int ran = 0; // batches run by this call in this epoch (a resumed epoch starts mid-way)
            int updated = 0; // of which updated the weights
            foreach (var batch in loader.Epoch(epoch, Position.Batch))
            {
                if (options.CancellationToken.IsCancellationRequested) return Finish(history, StopReason.Cancelled, options);
                if (options.MaxSteps is long limit && Position.GlobalStep >= limit) return Finish(history, StopReason.MaxStepsReached, options);
                var step = parallel is null
                    ? Step(batch.Images.Span, batch.Labels.Span, classes, options.NonFiniteLoss, epoch, batch.Index)
                    : parallel.Step(this, batch, classes, options.NonFiniteLoss, epoch);
                int n = step.Count; // the global batch when data-parallel: loss and accuracy are the global batch's
                float loss = step.Loss;
                bool skip = step.UpdateSkipped;
                int batchCorrect = step.Correct;
                if (skip) skipped++;
                if (!skip) { lossSum += (double)loss * n; seen += n; correct += batchCorrect; updated++; }
                history.StepLosses.Add(loss);
                Position = new TrainingPosition(epoch, batch.Index + 1, Position.GlobalStep + 1);
                if (!skip)
                {
                    divergence.AfterBatch(loss, lossSum / seen, updated, epoch, batch.Index, Position.GlobalStep);
                    Divergence = divergence.Reference;
                }

                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                int done = batch.Index + 1;
                double perBatch = seconds / ++ran;
                var progress = new BatchProgress(epoch, options.Epochs, batch.Index, batchesPerEpoch, Position.GlobalStep, loss,
                    (double)batchCorrect / n, seen == 0 ? double.NaN : lossSum / seen, seen == 0 ? 0 : (double)correct / seen,
                    seen / seconds, TimeSpan.FromSeconds(perBatch * (batchesPerEpoch - done)), Optimizer.LearningRate, skip);
                BatchCompleted?.Invoke(this, progress);
                foreach (var c in options.Callbacks) c.OnBatchEnd(this, progress);

                if (options.MaxSteps is long max && Position.GlobalStep >= max) return Finish(history, StopReason.MaxStepsReached, options);
                if (parallel is not null && parallel.AgreeToStop(StopRequested || options.CancellationToken.IsCancellationRequested))
                    return Finish(history, options.CancellationToken.IsCancellationRequested ? StopReason.Cancelled : StopReason.StoppedByCallback, options);
                if (StopRequested) return Finish(history, StopReason.StoppedByCallback, options);
            }
            clock.Stop();

            double? valLoss = null, valAcc = null;
            if (options.Validation is not null)
            {
                var result = Model.Evaluate(validationImages!, options.Validation.Labels.Span, options.ValidationBatchSize, Loss);
                valLoss = result.Loss;
                valAcc = result.Accuracy;
            }
            double secs = clock.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics(epoch, options.Epochs, seen == 0 ? double.NaN : lossSum / seen, seen == 0 ? 0 : (double)correct / seen,
                valLoss, valAcc, secs, secs > 0 ? seen / secs : 0, Optimizer.LearningRate, skipped);
            if (seen > 0)
            {
                divergence.AfterEpoch(metrics.TrainLoss, metrics.TrainAccuracy, epoch, Math.Max(Position.Batch - 1, 0), Position.GlobalStep);
                Divergence = divergence.Reference;
            }
            Position = new TrainingPosition(epoch + 1, 0, Position.GlobalStep);
            history.Epochs.Add(metrics);
            EpochCompleted?.Invoke(this, metrics);
            foreach (var c in options.Callbacks) c.OnEpochEnd(this, metrics);
            if (StopRequested) return Finish(history, StopReason.StoppedByCallback, options);
            if (options.CancellationToken.IsCancellationRequested) return Finish(history, StopReason.Cancelled, options);
        }
        return Finish(history, StopReason.Completed, options);
    }

    /// <summary>
    /// A run that has started (global step > 0) continues only with the settings it was started with: its input
    /// normalization, and mid-epoch its batch size (the saved batch index counts batches of that size).
    /// </summary>
    private void CheckResumable(TrainingOptions options)
    {
        if (Position.GlobalStep == 0) return;
        var given = options.Normalization ?? Normalization.Identity;
        if (InputNormalization is { } saved && !saved.Equals(given))
            throw new ConvNetArgumentException(
                $"Model '{Model.Name}' was trained with input normalization ({saved}) but Fit was given ({given}); resuming with other inputs " +
                "would continue on differently scaled data. Pass the run's normalization (Trainer.InputNormalization).", nameof(options));
        if (Position.Batch > 0 && BatchSize is int size && size != options.BatchSize)
            throw new ConvNetArgumentException(
                $"The run stopped after batch {Position.Batch} of epoch {Position.Epoch + 1} with batch size {size}; it cannot continue that " +
                $"epoch with batch size {options.BatchSize}. Resume with batch size {size}, or change it at an epoch boundary.", nameof(options));
    }

    /// <summary>
    /// One optimization step on a host batch (images: count x input sample; labels: count class indices): forward in
    /// training mode, loss, backward, optimizer update. Does not move <see cref="Position"/>. A non-finite loss throws
    /// <see cref="NonFiniteLossException"/> before any update.
    /// </summary>
    public StepResult TrainStep(ReadOnlySpan<float> images, ReadOnlySpan<int> labels)
    {
        using var use = Model.UseGuard.Enter("TrainStep");
        int classes = Model.OutputShape.Rank == 1 ? Model.OutputShape[0] : throw new InvalidOperationException(
            $"Model '{Model.Name}' outputs {Model.OutputShape}; a classifier must output class scores (F).");
        if (labels.Length < 1 || images.Length != labels.Length * Model.InputShape.ElementCount)
            throw new ShapeMismatchException($"TrainStep: {labels.Length} labels need {labels.Length} samples of {Model.InputShape}, got {images.Length} floats.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ConvNetArgumentException($"TrainStep: label {labels[i]} at index {i} is outside [0, {classes}).", nameof(labels));
        Optimizer.EnsureState(_parameters ??= Model.Parameters);
        return Step(images, labels, classes, NonFiniteLossPolicy.Throw, Position.Epoch, Position.Batch);
    }

    private IReadOnlyList<Parameter>? _parameters;
    private DataParallel? _parallel;

    /// <summary>The data-parallel setup of the current or last <see cref="Fit(Dataset, TrainingOptions)"/>, or null for one process.</summary>
    public DataParallel? DataParallel => _parallel;

    /// <summary>Correct predictions among the loss's last probabilities for <paramref name="labels"/>.</summary>
    internal int CountCorrect(ReadOnlySpan<int> labels, int classes)
    {
        int n = labels.Length;
        if (_probabilities.Length < n * classes) _probabilities = new float[n * classes];
        Loss.Probabilities.Download(_probabilities.AsSpan(0, n * classes));
        int correct = 0;
        for (int i = 0; i < n; i++)
            if (Sequential.ArgMax(_probabilities.AsSpan(i * classes, classes)) == labels[i]) correct++;
        return correct;
    }
    private float[] _probabilities = [];

    private StepResult Step(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, int classes, NonFiniteLossPolicy policy, int epoch, int batchIndex)
    {
        var parameters = _parameters ??= Model.Parameters;
        int n = labels.Length;
        var input = Model.InputBuffer(n);
        input.Upload(images);
        var labelTensor = Model.LabelBuffer(n);
        labelTensor.Upload(labels);

        var output = Model.Forward(input, training: true);
        float loss = Loss.Forward(output, labelTensor);
        bool skip = false;
        if (!float.IsFinite(loss))
        {
            if (policy == NonFiniteLossPolicy.Throw) throw new NonFiniteLossException(epoch, batchIndex, Position.GlobalStep, loss);
            skip = true;
        }
        else
        {
            Model.Backward(Loss.Backward());
            Optimizer.Step(parameters);
        }

        return new StepResult(loss, CountCorrect(labels, classes), n, skip);
    }

    private TrainingHistory Finish(TrainingHistory history, StopReason reason, TrainingOptions options)
    {
        history.StopReason = reason;
        Model.AnomalyDetection = false;
        foreach (var c in options.Callbacks) c.OnTrainEnd(this, history);
        return history;
    }

    private float[]? PrepareValidation(TrainingOptions options)
    {
        var v = options.Validation;
        if (v is null) return null;
        if (!v.SampleShape.SameDimensions(Model.InputShape))
            throw new ShapeMismatchException($"The validation samples have shape {v.SampleShape} but model '{Model.Name}' expects {Model.InputShape}.");
        var images = v.Images.ToArray();
        options.Normalization?.Apply(images);
        return images;
    }

    /// <summary>Evaluates the model on <paramref name="data"/> (normalized with <paramref name="normalization"/> if given).</summary>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 256, Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var images = data.Images.ToArray();
        normalization?.Apply(images);
        return Model.Evaluate(images, data.Labels.Span, batchSize, Loss);
    }
}
