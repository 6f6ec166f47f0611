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
        _divergence = new DivergenceMonitor(options.Divergence, Position.GlobalStep == 0 ? default : Divergence, train.ClassCount);
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

        using var device = DeviceStepLoop.TryCreate(this, options, _parameters!, out string path);
        StepPath = path;
        try
        {
            while (Position.Epoch < options.Epochs)
            {
                int epoch = Position.Epoch;
                if (options.Schedule is not null) Optimizer.LearningRate = options.Schedule.RateAt(epoch, Optimizer.BaseLearningRate);
                var tally = new EpochTally(epoch, options.Epochs, loader.BatchesPerEpoch);
                var lastRead = Stopwatch.StartNew();
                device?.BeginEpoch();
                foreach (var batch in loader.Epoch(epoch, Position.Batch))
                {
                    long issued = Position.GlobalStep + (device?.Pending ?? 0);
                    if (options.CancellationToken.IsCancellationRequested)
                        return Finish(history, Drain(device, tally, options, history) ?? StopReason.Cancelled, options);
                    if (options.MaxSteps is long limit && issued >= limit)
                        return Finish(history, Drain(device, tally, options, history) ?? StopReason.MaxStepsReached, options);
                    int n = parallel is null ? batch.Count : batch.GlobalCount; // data-parallel: loss and accuracy are the global batch's
                    if (device is not null)
                    {
                        if (device.RingFull && Drain(device, tally, options, history) is { } full) return Finish(history, full, options);
                        device.Issue(batch.Images.Span, batch.Labels.Span, Optimizer.LearningRate);
                        tally.Pending.Enqueue((batch.Index, n));
                        if (lastRead.Elapsed >= options.ReadInterval)
                        {
                            lastRead.Restart();
                            if (Drain(device, tally, options, history) is { } stop) return Finish(history, stop, options);
                        }
                        continue;
                    }
                    var step = parallel is null
                        ? Step(Upload(batch.Images.Span, batch.Labels.Span), options.NonFiniteLoss)
                        : parallel.Step(this, batch, options.NonFiniteLoss);
                    if (AfterBatch(tally, batch.Index, n, step.Loss, step.Correct, step.Count, step.UpdateSkipped, options, history) is { } reason)
                        return Finish(history, reason, options);
                    if (parallel is not null && parallel.AgreeToStop(StopRequested || options.CancellationToken.IsCancellationRequested))
                        return Finish(history, options.CancellationToken.IsCancellationRequested ? StopReason.Cancelled : StopReason.StoppedByCallback, options);
                }
                if (Drain(device, tally, options, history) is { } late) return Finish(history, late, options);
                tally.Clock.Stop();

                double? valLoss = null, valAcc = null;
                if (options.Validation is not null)
                {
                    var result = Evaluator.Evaluate(Model, validationImages!, options.Validation.Labels.Span, options.ValidationBatchSize, ClassificationLossOrNull());
                    valLoss = result.Loss;
                    valAcc = result.Accuracy;
                }
                double secs = tally.Clock.Elapsed.TotalSeconds;
                var metrics = new EpochMetrics(epoch, options.Epochs, tally.Seen == 0 ? double.NaN : tally.LossSum / tally.Seen,
                    tally.Scored == 0 ? 0 : (double)tally.Correct / tally.Scored, valLoss, valAcc, secs, secs > 0 ? tally.Seen / secs : 0,
                    Optimizer.LearningRate, tally.Skipped);
                if (tally.Seen > 0)
                {
                    _divergence!.AfterEpoch(metrics.TrainLoss, metrics.TrainAccuracy, epoch, Math.Max(Position.Batch - 1, 0), Position.GlobalStep);
                    Divergence = _divergence.Reference;
                }
                Position = new TrainingPosition(epoch + 1, 0, Position.GlobalStep);
                history.Epochs.Add(metrics);
                EpochCompleted?.Invoke(this, metrics);
                foreach (var c in options.Callbacks) c.OnEpochEnd(this, metrics);
                if (StopRequested) return Finish(history, StopReason.StoppedByCallback, options);
                if (options.CancellationToken.IsCancellationRequested) return Finish(history, StopReason.Cancelled, options);
            }
        }
        finally
        {
            _divergence = null;
        }
        return Finish(history, StopReason.Completed, options);
    }

    private DivergenceMonitor? _divergence;

    /// <summary>
    /// How the steps of the last <see cref="Fit(Dataset, TrainingOptions)"/> ran, and why: the device loop (with CUDA graphs,
    /// or eager and why) or the host loop and why. Null before the first Fit.
    /// </summary>
    public string? StepPath { get; private set; }

    // The running sums of one epoch, and the device loop's steps issued but not yet accounted.
    private sealed class EpochTally(int epoch, int epochs, int batchesPerEpoch)
    {
        public readonly int Epoch = epoch, Epochs = epochs, BatchesPerEpoch = batchesPerEpoch;
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public readonly Queue<(int Batch, int Count)> Pending = new();
        public double LossSum;
        public long Seen, Scored, Correct;
        public int Skipped, Ran, Updated;
    }

    // Everything after one step, in step order: the sums, the history, the position, the divergence checks, the progress
    // event and the callbacks. Returns why to stop, or null to go on.
    private StopReason? AfterBatch(EpochTally t, int batchIndex, int n, float loss, int correct, int count, bool skip,
        TrainingOptions options, TrainingHistory history)
    {
        if (skip) t.Skipped++;
        else
        {
            t.LossSum += (double)loss * n;
            t.Seen += n;
            t.Correct += correct;
            t.Scored += count;
            t.Updated++;
        }
        history.StepLosses.Add(loss);
        Position = new TrainingPosition(t.Epoch, batchIndex + 1, Position.GlobalStep + 1);
        if (!skip)
        {
            _divergence!.AfterBatch(loss, t.LossSum / t.Seen, t.Updated, t.Epoch, batchIndex, Position.GlobalStep);
            Divergence = _divergence.Reference;
        }
        double seconds = Math.Max(t.Clock.Elapsed.TotalSeconds, 1e-9);
        double perBatch = seconds / ++t.Ran;
        var progress = new BatchProgress(t.Epoch, t.Epochs, batchIndex, t.BatchesPerEpoch, Position.GlobalStep, loss,
            count == 0 ? double.NaN : (double)correct / count, t.Seen == 0 ? double.NaN : t.LossSum / t.Seen,
            t.Scored == 0 ? 0 : (double)t.Correct / t.Scored, t.Seen / seconds, TimeSpan.FromSeconds(perBatch * (t.BatchesPerEpoch - batchIndex - 1)),
            Optimizer.LearningRate, skip);
        BatchCompleted?.Invoke(this, progress);
        foreach (var c in options.Callbacks) c.OnBatchEnd(this, progress);
        if (options.MaxSteps is long max && Position.GlobalStep >= max) return StopReason.MaxStepsReached;
        return StopRequested ? StopReason.StoppedByCallback : null;
    }

    // The device loop's read: waits for the issued steps, then accounts each of them in order (see AfterBatch) with the
    // loss and correct count the device recorded for it. A non-finite loss under the Throw policy throws at the step that
    // had it (the device stopped updating there, so the weights are those before it). Returns the first reason to stop.
    private StopReason? Drain(DeviceStepLoop? device, EpochTally t, TrainingOptions options, TrainingHistory history)
    {
        if (device is null || device.Pending == 0) return null;
        var (steps, _) = device.Read();
        StopReason? stop = null;
        bool skipPolicy = options.NonFiniteLoss == NonFiniteLossPolicy.SkipUpdate;
        foreach (var step in steps)
        {
            var (batch, n) = t.Pending.Dequeue();
            bool skip = !float.IsFinite(step.Loss);
            if (skip && !skipPolicy) throw new NonFiniteLossException(Position.Epoch, batch, Position.GlobalStep, step.Loss);
            if (!skip) Optimizer.RestoreStepCount(Optimizer.StepCount + 1);
            stop ??= AfterBatch(t, batch, n, step.Loss, step.Correct, n, skip, options, history);
        }
        return stop;
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
