using System.Diagnostics;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Training;

public sealed partial class Trainer
{
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
    /// <exception cref="ShapeMismatchException">The samples or classes do not fit the model.</exception>
    /// <exception cref="NonFiniteLossException">A loss was NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>.</exception>
    public TrainingHistory Fit(Dataset train, TrainingOptions options)
    {
        using var use = Model.UseGuard.Enter("Fit");
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 0) throw new ConvNetArgumentException($"Epochs must be >= 0, got {options.Epochs}.");
        CheckData(train, "training");
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
        PrepareUpdates();
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
                var step = parallel is null
                    ? Step(Upload(batch.Images.Span, batch.Labels.Span), options.NonFiniteLoss)
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
                var progress = new BatchProgress(epoch, options.Epochs, batch.Index, batchesPerEpoch, Position.GlobalStep, loss,
                    step.Accuracy, seen == 0 ? double.NaN : lossSum / seen, scored == 0 ? 0 : (double)correct / scored,
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
                var result = Evaluator.Evaluate(Model, validationImages!, options.Validation.Labels.Span, options.ValidationBatchSize, ClassificationLossOrNull());
                valLoss = result.Loss;
                valAcc = result.Accuracy;
            }
            double secs = clock.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics(epoch, options.Epochs, seen == 0 ? double.NaN : lossSum / seen, scored == 0 ? 0 : (double)correct / scored,
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

    private void CheckData(Dataset data, string what)
    {
        if (!data.SampleShape.SameDimensions(Model.InputShape))
            throw new ShapeMismatchException($"The {what} samples have shape {data.SampleShape} but model '{Model.Name}' expects {Model.InputShape}.");
        int classes = Model.OutputShape.Rank == 1 ? Model.OutputShape[0] : throw new InvalidOperationException(
            $"Model '{Model.Name}' outputs {Model.OutputShape}; a classifier must output class scores (F).");
        if (data.ClassCount > classes)
            throw new ShapeMismatchException($"The data has {data.ClassCount} classes but model '{Model.Name}' outputs {classes} scores.");
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
}
