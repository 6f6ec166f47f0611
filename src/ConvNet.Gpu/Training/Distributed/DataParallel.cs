using System.Diagnostics;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Training.Distributed;

/// <summary>Settings of <see cref="DataParallel"/>.</summary>
public sealed class DataParallelOptions
{
    /// <summary>
    /// Gradient bucket size in bytes (default 1 MiB). A bucket's all-reduce starts as soon as backward has produced
    /// all of its gradients; smaller buckets start earlier and overlap more, at more messages per step.
    /// </summary>
    public long BucketBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Synchronize BatchNorm statistics across ranks (the mean and variance of the whole global batch, as one process
    /// would compute them), at two small all-reduces per BatchNorm layer in forward and one in backward. Off: each rank
    /// normalizes with its own shard's statistics (PyTorch DDP's default).
    /// </summary>
    public bool SynchronizeBatchNorm { get; init; }
}

/// <summary>
/// Data-parallel training across processes: every rank holds a replica, takes its <see cref="DataShard"/> of each
/// global batch, and all ranks take the same optimizer step on the gradient of the global batch's mean loss. Pass it
/// in <see cref="TrainingOptions.DataParallel"/>; <see cref="Trainer.Fit(Dataset, TrainingOptions)"/> then
/// <list type="bullet">
/// <item>checks at start-up that every rank has the same model, weights, optimizer, batch size, data and position
/// (a fingerprint all-gather; <see cref="DistributedMismatchException"/> names what differs);</item>
/// <item>scales each rank's loss gradient by its share of the global batch (n_r / B), so the summed gradients are
/// exactly those of the global mean loss, also for a short last batch;</item>
/// <item>all-reduces the gradients in buckets that start while backward is still running, with the step's loss and
/// accuracy riding in the last bucket (every rank reports global metrics and takes the same non-finite-loss decision);</item>
/// <item>agrees on stopping (callbacks, cancellation) after every batch, so no rank is left waiting.</item>
/// </list>
/// <see cref="TrainingOptions.BatchSize"/> is the global batch: N ranks with batch B train like one process with
/// batch B, whatever N is, which is what lets a checkpoint resume on any number of ranks. This object does not own
/// <see cref="Collectives"/>.
/// </summary>
public sealed class DataParallel : IDisposable
{
    private GradientBuckets? _buckets;
    private Model? _model;
    private readonly Stopwatch _stepClock = new();
    private TimeSpan _communication, _exposed;
    private float _weight = 1f;
    private int _shardStart, _globalCount;
    private long _step;
    private (Dropout Layer, ulong Base)[] _dropouts = [];

    /// <summary>Creates the data-parallel setup over <paramref name="collectives"/>.</summary>
    /// <param name="collectives">Host collectives: the start-up check, stop agreement and (without <paramref name="device"/>) the gradients.</param>
    /// <param name="options">Bucket size and BatchNorm mode.</param>
    /// <param name="device">
    /// When given (NCCL for a CUDA model), gradient buckets are reduced in the model backend's memory on its stream
    /// instead of through host buffers; it must span the same ranks as <paramref name="collectives"/>.
    /// </param>
    public DataParallel(ICollectives collectives, DataParallelOptions? options = null, IDeviceCollectives? device = null)
    {
        ArgumentNullException.ThrowIfNull(collectives);
        if (device is not null && (device.Rank != collectives.Rank || device.WorldSize != collectives.WorldSize))
            throw new ConvNetArgumentException(
                $"The device collectives are rank {device.Rank} of {device.WorldSize} but the host collectives rank {collectives.Rank} of {collectives.WorldSize}.");
        Device = device;
        Options = options ?? new DataParallelOptions();
        if (Options.BucketBytes < 4)
            throw new ConvNetArgumentException($"The gradient bucket size must be at least 4 bytes, got {Options.BucketBytes}.");
        Collectives = collectives;
    }

    /// <summary>The collectives (not owned).</summary>
    public ICollectives Collectives { get; }

    /// <summary>The device engine of the gradient buckets (NCCL), or null for host buffers through <see cref="Collectives"/>.</summary>
    public IDeviceCollectives? Device { get; }

    /// <summary>The settings.</summary>
    public DataParallelOptions Options { get; }

    /// <summary>This rank.</summary>
    public int Rank => Collectives.Rank;

    /// <summary>The number of ranks.</summary>
    public int WorldSize => Collectives.WorldSize;

    /// <summary>True on rank 0, the rank that writes checkpoints, metrics and reports and prints progress.</summary>
    public bool IsRoot => Collectives.Rank == 0;

    /// <summary>This rank's shard of every global batch.</summary>
    public DataShard Shard => new(Rank, WorldSize);

    /// <summary>Number of gradient buckets (after training started).</summary>
    public int BucketCount => _buckets?.Count ?? 0;

    /// <summary>Where the time of the training steps went on this rank (since the last <see cref="ResetStatistics"/>).</summary>
    public CommunicationStatistics Statistics { get; private set; } = new(0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 0);

    /// <summary>Clears <see cref="Statistics"/> (e.g. after warm-up steps).</summary>
    public void ResetStatistics() => Statistics = new(0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, Statistics.BytesPerStep);

    /// <summary>Builds the buckets, wires BatchNorm synchronization and runs the start-up consistency check.</summary>
    internal void Attach(Trainer trainer, Dataset train, TrainingOptions options)
    {
        var model = trainer.Model;
        if (!ReferenceEquals(_model, model))
        {
            _model = model;
            _buckets?.Dispose();
            _buckets = new GradientBuckets(model, Options.BucketBytes, Device);
            _dropouts = model.DropoutLayers().Select(d => (d.Layer, 0UL)).ToArray();
            var sync = Options.SynchronizeBatchNorm && WorldSize > 1 ? new BatchNormSync(Collectives) : null;
            foreach (var (_, layer) in model.AllLayers())
                if (layer is BatchNorm2D bn) bn.Sync = sync;
            Statistics = Statistics with { BytesPerStep = _buckets.FloatsPerStep * 4 };
        }
        int remainder = train.Count % options.BatchSize;
        if (Options.SynchronizeBatchNorm && !options.DropLast && remainder > 0 && remainder < WorldSize)
            throw new ConvNetArgumentException(
                $"With synchronized BatchNorm every rank needs at least one sample of every batch, but the last batch of each epoch has " +
                $"{remainder} sample(s) ({train.Count} mod {options.BatchSize}) for {WorldSize} ranks; set DropLast or change the batch size.");
        ModelFingerprint.Verify(Collectives, ModelFingerprint.Of(trainer, train, options, this));
    }

    /// <summary>Frees the gradient buckets' device buffers (the collectives belong to the caller).</summary>
    public void Dispose()
    {
        _buckets?.Dispose();
        _buckets = null;
        _model = null;
    }

    /// <summary>
    /// One data-parallel step of <paramref name="trainer"/> (called by <see cref="Trainer.Fit(Dataset, TrainingOptions)"/>):
    /// this rank's shard forward and backward, its loss gradient weighted by its share of the global batch, the
    /// bucketed gradient all-reduce overlapping backward, then the same non-finite-loss decision and optimizer update on
    /// every rank from the global loss. A rank with an empty shard (last batch smaller than the world) contributes zeros.
    /// Returns the global batch's loss and its correct and scored counts (samples for class targets, elements for
    /// multi-hot or mask targets: what the trainer's accuracy metric counts).
    /// </summary>
    internal StepResult Step(Trainer trainer, DataBatch batch, NonFiniteLossPolicy policy)
    {
        var model = trainer.Model;
        var loss = trainer.Loss;
        BeginStep(batch, trainer.Position.GlobalStep);
        int n = batch.Count;
        float localLoss = 0f;
        long localCorrect = 0, localScored = 0;
        if (n > 0)
        {
            var (input, targets) = trainer.Upload(batch);
            var output = model.Forward(input, training: true);
            localLoss = loss.Forward(output, targets);
            (localCorrect, localScored) = trainer.Score(output, targets);
            var gradient = loss.Backward();
            if (_weight != 1f) gradient.Backend.Scale(gradient, _weight, gradient);
            model.Backward([gradient], LayerDone);
        }
        var (globalLoss, correct, scored) = FinishStep(localLoss, localCorrect, localScored, computed: n > 0);
        bool skip = trainer.SkipUpdate(globalLoss, policy); // the trainer's one non-finite-loss rule, on the global loss
        if (!skip) trainer.Update();
        return new StepResult(globalLoss, correct, scored, skip);
    }

    /// <summary>Prepares one step of a global batch: this rank's loss weight and the dropout streams.</summary>
    private void BeginStep(DataBatch batch, long globalStep)
    {
        _stepClock.Restart();
        _step = globalStep;
        _globalCount = batch.GlobalCount;
        _shardStart = batch.ShardStart;
        _weight = (float)batch.Count / batch.GlobalCount;
        _buckets!.Begin();
        // Dropout draws element i of the global batch from its counter-based stream, as one process would: this rank's
        // samples start ShardStart samples in, and every rank moves on by the whole global batch.
        for (int i = 0; i < _dropouts.Length; i++)
        {
            var d = _dropouts[i].Layer;
            _dropouts[i].Base = d.Counter;
            d.Counter += (ulong)_shardStart * (ulong)d.InputShape.ElementCount;
        }
    }

    /// <summary>The layer-completion callback for backward (starts full buckets).</summary>
    private void LayerDone(Layer layer)
    {
        long t0 = Stopwatch.GetTimestamp();
        _buckets!.LayerDone(layer, Collectives, _step);
        _communication += Stopwatch.GetElapsedTime(t0);
    }

    /// <summary>
    /// Finishes the gradient all-reduce; returns the global batch's mean loss and its correct and scored counts,
    /// identical on every rank.
    /// </summary>
    private (float Loss, int Correct, int Scored) FinishStep(float localLoss, long localCorrect, long localScored, bool computed)
    {
        long t0 = Stopwatch.GetTimestamp();
        var (loss, correct, scored) = _buckets!.Finish(Collectives, _step, computed ? localLoss * _weight : 0f,
            computed ? localCorrect : 0, computed ? localScored : 0, computed, out var wait);
        _communication += Stopwatch.GetElapsedTime(t0);
        _exposed += wait;
        foreach (var (layer, start) in _dropouts) layer.Counter = start + (ulong)_globalCount * (ulong)layer.InputShape.ElementCount;
        return ((float)loss, (int)Math.Round(correct), (int)Math.Round(scored));
    }

    /// <summary>True on every rank when any rank wants to stop (one small all-reduce).</summary>
    internal bool AgreeToStop(bool localStop)
    {
        long t0 = Stopwatch.GetTimestamp();
        var flag = new float[] { localStop ? 1f : 0f };
        Collectives.AllReduceSum(flag, $"stop agreement (step {_step})");
        _communication += Stopwatch.GetElapsedTime(t0);
        _stepClock.Stop();
        var s = Statistics;
        Statistics = s with { Steps = s.Steps + 1, StepTime = s.StepTime + _stepClock.Elapsed, CommunicationTime = s.CommunicationTime + _communication,
            ExposedWait = s.ExposedWait + _exposed };
        _communication = TimeSpan.Zero;
        _exposed = TimeSpan.Zero;
        return flag[0] > 0f;
    }
}

/// <summary>Where the time of a rank's training steps went.</summary>
/// <param name="Steps">Steps measured.</param>
/// <param name="StepTime">Wall time of those steps (forward, backward, all-reduce, update, agreement).</param>
/// <param name="CommunicationTime">Time inside the collectives: staging copies, progress polls during backward, the wait after it, the stop agreement.</param>
/// <param name="ExposedWait">The part of <paramref name="CommunicationTime"/> spent blocked after backward, waiting for the buckets to finish (what overlap did not hide).</param>
/// <param name="BytesPerStep">Bytes all-reduced per step.</param>
public sealed record CommunicationStatistics(long Steps, TimeSpan StepTime, TimeSpan CommunicationTime, TimeSpan ExposedWait, long BytesPerStep)
{
    /// <summary>CommunicationTime / StepTime (0 before any step).</summary>
    public double CommunicationShare => StepTime > TimeSpan.Zero ? CommunicationTime / StepTime : 0;
}
