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
        _divergence = new DivergenceMonitor(options.Divergence, Position.GlobalStep == 0 ? default : Divergence,
            Loss is Losses.ClassificationLoss ? train.ClassCount : 0);
        var validation = PrepareValidation(options);
        var history = new TrainingHistory { StopReason = StopReason.Completed };
        PrepareUpdates();
        using var clipping = options.GradientClipNorm is float maxNorm ? new GlobalNormClipping(maxNorm) : null;
        if (clipping is not null) GradientHooks.Add(clipping);
        _schedule = options.Schedule;
        try
        {
            return FitEpochs(train, options, loader, endEpoch, validation, trainMetrics, history);
        }
        finally
        {
            if (clipping is not null) GradientHooks.Remove(clipping);
            _schedule = null;
            _divergence = null;
        }
    }

    private TrainingHistory FitEpochs(Dataset train, TrainingOptions options, DataLoader loader, int endEpoch, Dataset? validation,
        Metric[] trainMetrics, TrainingHistory history)
    {
        var parallel = options.DataParallel;
        bool hasAccuracy = TrainingTask.HasAccuracy(Loss);
        Model.AnomalyDetection = options.AnomalyDetection;
        StopRequested = false;
        _parallel = parallel;
        parallel?.Attach(this, train, options);
        foreach (var c in options.Callbacks) c.OnTrainBegin(this);

        using var device = DeviceStepLoop.TryCreate(this, options, _parameters!, out string path);
        StepPath = path;
        while (Position.Epoch < endEpoch)
        {
            int epoch = Position.Epoch;
            if (options.Schedule is not null) Optimizer.LearningRate = options.Schedule.RateAt(epoch, Optimizer.BaseLearningRate);
            foreach (var metric in trainMetrics) metric.Reset();
            var tally = new EpochTally(epoch, endEpoch, loader.BatchesPerEpoch, hasAccuracy);
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
                if (options.Schedule is { IsPerStep: true })
                    Optimizer.LearningRate = options.Schedule.RateAtStep(issued, loader.BatchesPerEpoch, Optimizer.BaseLearningRate);
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
                    ? Step(Upload(batch), options.NonFiniteLoss, trainMetrics)
                    : parallel.Step(this, batch, options.NonFiniteLoss);
                if (AfterBatch(tally, batch.Index, n, step.Loss, step.Correct, step.Count, step.UpdateSkipped, options, history) is { } reason)
                    return Finish(history, reason, options);
                if (parallel is not null && parallel.AgreeToStop(StopRequested || options.CancellationToken.IsCancellationRequested))
                    return Finish(history, options.CancellationToken.IsCancellationRequested ? StopReason.Cancelled : StopReason.StoppedByCallback, options);
            }
            if (Drain(device, tally, options, history) is { } late) return Finish(history, late, options);
            tally.Clock.Stop();

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
            double secs = tally.Clock.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics(epoch, endEpoch, tally.Seen == 0 ? double.NaN : tally.LossSum / tally.Seen,
                Rate(tally.Correct, tally.Scored, hasAccuracy), valLoss, valAcc, secs, secs > 0 ? tally.Seen / secs : 0,
                Optimizer.LearningRate, tally.Skipped) { Values = values };
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
        return Finish(history, StopReason.Completed, options);
    }

    private DivergenceMonitor? _divergence;

    /// <summary>
    /// How the steps of the last <see cref="Fit(Dataset, TrainingOptions)"/> ran, and why: the device loop (with CUDA graphs,
    /// or eager and why) or the host loop and why. Null before the first Fit.
    /// </summary>
    public string? StepPath { get; private set; }

    // The running sums of one epoch, and the device loop's steps issued but not yet accounted.
    private sealed class EpochTally(int epoch, int epochs, int batchesPerEpoch, bool hasAccuracy)
    {
        public readonly int Epoch = epoch, Epochs = epochs, BatchesPerEpoch = batchesPerEpoch;
        public readonly bool HasAccuracy = hasAccuracy;
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
            count == 0 || !t.HasAccuracy ? double.NaN : (double)correct / count, t.Seen == 0 ? double.NaN : t.LossSum / t.Seen,
            Rate(t.Correct, t.Scored, t.HasAccuracy), t.Seen / seconds, TimeSpan.FromSeconds(perBatch * (t.BatchesPerEpoch - batchIndex - 1)),
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
