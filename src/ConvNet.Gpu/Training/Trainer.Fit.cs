using System.Diagnostics;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Training;

public sealed partial class Trainer
{
    /// <summary>
    /// Trains for <paramref name="epochs"/> more epochs from where the trainer stands (Keras's semantics: a second
    /// <c>Fit(train, 2)</c> runs two more), with default options otherwise (see <see cref="TrainingOptions"/>).
    /// </summary>
    public TrainingHistory Fit(Dataset train, int epochs, int batchSize = 64, Dataset? validation = null,
        IReadOnlyList<TrainingCallback>? callbacks = null, CancellationToken cancellationToken = default) =>
        Fit(train, new TrainingOptions
        {
            Epochs = epochs, BatchSize = batchSize, Validation = validation, Callbacks = callbacks ?? [], CancellationToken = cancellationToken,
        });

    /// <summary>
    /// Trains on <paramref name="train"/> from <see cref="Position"/> for <see cref="TrainingOptions.Epochs"/> more epochs
    /// (a partly done epoch counts as one), or up to the absolute epoch <see cref="TrainingOptions.UntilEpoch"/>, or until
    /// stopped, and returns what happened. Everything that can be checked is checked before the first batch: the data
    /// against the model and the loss (see <see cref="TrainingTask"/>), the metric names, and the names the callbacks monitor.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The samples or targets do not fit the model.</exception>
    /// <exception cref="ConvNetArgumentException">The targets do not fit the loss, a metric is unknown or does not fit the task, a callback monitors a metric the run does not report, or an option is out of range.</exception>
    /// <exception cref="NonFiniteLossException">A loss was NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>.</exception>
    public TrainingHistory Fit(Dataset train, TrainingOptions options)
    {
        using var use = Model.UseGuard.Enter("Fit");
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        int endEpoch = options.EndEpoch(Position.Epoch);
        if (train.Count == 0)
            throw new ConvNetArgumentException($"The training set '{train.Source}' is empty; there is nothing to train on.", nameof(train));
        if (options.BatchSize < 1)
            throw new ConvNetArgumentException($"The batch size must be at least 1, got {options.BatchSize}.", nameof(options));
        if (options.GradientClipNorm is float clip && !(clip > 0 && float.IsFinite(clip)))
            throw new ConvNetArgumentException($"GradientClipNorm must be finite and positive, got {clip}.", nameof(options));
        options.Divergence.Validate();
        CheckResumable(options);
        var parallel = options.DataParallel;
        ulong seed = Position.GlobalStep == 0 || DataSeed is null ? options.Seed : DataSeed.Value;
        var loader = new DataLoader(train, options.BatchSize, options.Shuffle, seed, options.DropLast, options.Normalization)
        {
            Shard = parallel?.Shard ?? DataShard.Whole,
            Transforms = options.Transforms,
            Workers = options.DataWorkers,
        };
        TrainingTask.Check(Model, Loss, train, "training", loader.SampleShape, loader.TargetShape);
        if (options.Validation is not null) TrainingTask.Check(Model, Loss, options.Validation, "validation");
        var trainMetrics = TrainingTask.CreateMetrics(options.Metrics, train, Model);
        TrainingTask.CheckMonitoredNames(Loss, options);
        if (Position.Batch > loader.BatchesPerEpoch)
            throw new ConvNetArgumentException(
                $"The run stopped after batch {Position.Batch} of epoch {Position.Epoch + 1}, but the training set '{train.Source}' gives only " +
                $"{loader.BatchesPerEpoch} batches of {options.BatchSize}; continue it on the data it was trained on.", nameof(train));

        DataSeed = seed;
        InputNormalization = options.Normalization ?? Normalization.Identity;
        BatchSize = options.BatchSize;
        var divergence = new DivergenceMonitor(options.Divergence, Position.GlobalStep == 0 ? default : Divergence,
            Loss is Losses.ClassificationLoss ? train.ClassCount : 0);
        var validation = PrepareValidation(options);
        var history = new TrainingHistory { StopReason = StopReason.Completed };
        PrepareUpdates();
        using var clipping = options.GradientClipNorm is float maxNorm ? new GlobalNormClipping(maxNorm) : null;
        if (clipping is not null) GradientHooks.Add(clipping);
        _schedule = options.Schedule;
        try
        {
            return FitEpochs(train, options, loader, endEpoch, divergence, validation, trainMetrics, history);
        }
        finally
        {
            if (clipping is not null) GradientHooks.Remove(clipping);
            _schedule = null;
        }
    }

    private TrainingHistory FitEpochs(Dataset train, TrainingOptions options, DataLoader loader, int endEpoch, DivergenceMonitor divergence,
        Dataset? validation, Metric[] trainMetrics, TrainingHistory history)
    {
        var parallel = options.DataParallel;
        bool hasAccuracy = TrainingTask.HasAccuracy(Loss);
        Model.AnomalyDetection = options.AnomalyDetection;
        StopRequested = false;
        _parallel = parallel;
        parallel?.Attach(this, train, options);
        foreach (var c in options.Callbacks) c.OnTrainBegin(this);

        while (Position.Epoch < endEpoch)
        {
            int epoch = Position.Epoch;
            if (options.Schedule is not null) Optimizer.LearningRate = options.Schedule.RateAt(epoch, Optimizer.BaseLearningRate);
            foreach (var metric in trainMetrics) metric.Reset();
            double lossSum = 0;
            long seen = 0, scored = 0, correct = 0;
            int skipped = 0;
            var clock = Stopwatch.StartNew();
            int batchesPerEpoch = loader.BatchesPerEpoch;
            int ran = 0; // batches run by this call in this epoch (a resumed epoch starts mid-way)
            int updated = 0; // of which updated the weights
            foreach (var batch in loader.Epoch(epoch, Position.Batch))
            {
                if (options.CancellationToken.IsCancellationRequested) return Finish(history, StopReason.Cancelled, options);
                if (options.MaxSteps is long limit && Position.GlobalStep >= limit) return Finish(history, StopReason.MaxStepsReached, options);
                if (options.Schedule is { IsPerStep: true })
                    Optimizer.LearningRate = options.Schedule.RateAtStep(Position.GlobalStep, batchesPerEpoch, Optimizer.BaseLearningRate);
                var step = parallel is null
                    ? Step(Upload(batch), options.NonFiniteLoss, trainMetrics)
                    : parallel.Step(this, batch, options.NonFiniteLoss);
                int n = parallel is null ? batch.Count : batch.GlobalCount; // data-parallel: loss and accuracy are the global batch's
                float loss = step.Loss;
                bool skip = step.UpdateSkipped;
                if (skip) skipped++;
                else
                {
                    lossSum += (double)loss * n;
                    seen += n;
                    correct += step.Correct;
                    scored += step.Count;
                    updated++;
                }
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
                var progress = new BatchProgress(epoch, endEpoch, batch.Index, batchesPerEpoch, Position.GlobalStep, loss,
                    hasAccuracy ? step.Accuracy : double.NaN, seen == 0 ? double.NaN : lossSum / seen, Rate(correct, scored, hasAccuracy),
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
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var metric in trainMetrics) values[metric.Name] = metric.Result();
            if (validation is not null)
            {
                var result = Evaluator.Evaluate(Model, validation, options.ValidationBatchSize, Loss, null, options.Metrics, defaultMetrics: false);
                valLoss = result.Loss;
                valAcc = result.Accuracy;
                foreach (var (name, value) in result.Metrics) values["val_" + name] = value;
            }
            double secs = clock.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics(epoch, endEpoch, seen == 0 ? double.NaN : lossSum / seen, Rate(correct, scored, hasAccuracy),
                valLoss, valAcc, secs, secs > 0 ? seen / secs : 0, Optimizer.LearningRate, skipped) { Values = values };
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

    private TrainingHistory Finish(TrainingHistory history, StopReason reason, TrainingOptions options)
    {
        history.StopReason = reason;
        Model.AnomalyDetection = false;
        foreach (var c in options.Callbacks) c.OnTrainEnd(this, history);
        return history;
    }

    // The validation data with the run's normalization applied once, up front (not at every epoch).
    private static Dataset? PrepareValidation(TrainingOptions options)
    {
        var v = options.Validation;
        if (v is null || options.Normalization is null) return v;
        var images = v.Images.ToArray();
        options.Normalization.Apply(images);
        return v.WithInputs(images);
    }

    // Correct / scored; NaN for a loss without an accuracy, 0 when every update of the epoch was skipped.
    private static double Rate(long correct, long scored, bool hasAccuracy) =>
        !hasAccuracy ? double.NaN : scored == 0 ? 0 : (double)correct / scored;
}
