using System.Diagnostics;
using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>
/// The training step of <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/> on a CUDA backend with the host out of
/// the loop. Each <see cref="Issue"/> queues one step and returns without waiting: the batch goes up through the
/// double-buffered <see cref="CudaInputPipeline"/> (pinned staging, copy stream, events), the step's changing scalars
/// (learning rate, step number, dropout seeds and counters) through queued uploads into device memory, then forward,
/// <see cref="IBackend.ClassificationStep"/> (loss, gradient, predictions, and the device-side metrics and non-finite
/// guard of <see cref="ClassificationMetrics"/>), backward, and one multi-tensor optimizer launch that reads the guard.
/// With CUDA graphs on, a full batch runs as one captured graph per input slot (captured after one eager run that
/// allocates every buffer); a different batch size (the last partial batch) runs eagerly. The host learns the losses and
/// counts only at <see cref="Read"/> (the trainer reads about once a second, at the end of an epoch, and whenever the
/// metrics ring is full).
/// </summary>
/// <remarks>
/// A captured graph holds the device addresses of every buffer of the step. Anything that frees device memory between
/// replays (an eager partial batch or a validation pass at another batch size re-allocates the layers' buffers) may
/// move those buffers, so the loop re-captures whenever the backend's memory pool has released memory since the
/// capture (<see cref="CudaBackend.MemoryReleases"/>): at most once per epoch in a plain Fit.
/// </remarks>
internal sealed class DeviceStepLoop : IDisposable
{
    /// <summary>Steps the metrics ring holds: the loop reads at least this often (in steps), so every step's loss is seen.</summary>
    internal const int RingCapacity = 1024;

    private readonly Model _model;
    private readonly CudaBackend _cuda;
    private readonly Optimizer _optimizer;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly ClassificationLossKind _kind;
    private readonly float _gamma;
    private readonly ClassificationStepMode _mode;
    private readonly ClassificationMetrics _metrics;
    private readonly Tensor _scalars;
    private readonly ParameterTable _table;
    private readonly CudaInputPipeline _pipeline;
    private readonly (Dropout Layer, Tensor Words)[] _dropouts;
    private readonly Workspace _buffers = new();
    private readonly Dictionary<(int Batch, int Slot), CudaGraph> _graphs = [];
    private readonly Dictionary<int, ulong[]> _dropoutAdvance = [];
    private readonly int _startCount;
    private long _graphReleases = -1;
    private int _issued, _read;

    private DeviceStepLoop(Model model, CudaBackend cuda, ClassificationLoss loss, Optimizer optimizer, IReadOnlyList<Parameter> parameters,
        NonFiniteLossPolicy policy, int graphBatch, string? graphsOff)
    {
        _model = model;
        _cuda = cuda;
        _optimizer = optimizer;
        _parameters = parameters;
        (_kind, _gamma) = loss is FocalLoss f ? (ClassificationLossKind.Focal, f.Gamma) : (ClassificationLossKind.CrossEntropy, 0f);
        _mode = policy == NonFiniteLossPolicy.SkipUpdate ? ClassificationStepMode.TrainSkipNonFinite : ClassificationStepMode.TrainStopOnNonFinite;
        GraphBatch = graphBatch;
        GraphsOffReason = graphsOff;
        _startCount = optimizer.StepCount;
        _metrics = new ClassificationMetrics(cuda, model.OutputShape[0], RingCapacity);
        _scalars = Persistent.Allocate(cuda, TensorShape.Vector(StepScalars.Words), DataType.Int32);
        _table = cuda.CreateParameterTable(optimizer.TableRows(parameters));
        _pipeline = cuda.CreateInputPipeline();
        _dropouts = model.DropoutLayers().Select(d => (d.Layer, Persistent.Allocate(cuda, TensorShape.Vector(4), DataType.Int32))).ToArray();
        foreach (var (layer, words) in _dropouts) layer.DeviceSeedAndOffset = words;
    }

    /// <summary>
    /// The loop for this run, or null with the reason the host loop runs instead (always null off CUDA: the CPU backend
    /// keeps its own path, where a host sync costs nothing).
    /// </summary>
    public static DeviceStepLoop? TryCreate(Trainer trainer, TrainingOptions options, IReadOnlyList<Parameter> parameters, out string path)
    {
        var model = trainer.Model;
        string? why = model.Backend is not CudaBackend ? $"the {model.Backend.Name} backend runs every step on the host"
            : !options.DeviceLoop ? "TrainingOptions.DeviceLoop is off"
            : options.DataParallel is not null ? "data-parallel training all-reduces on the host every step"
            : trainer.GradientHooks.Count > 0 ? "gradient hooks run on the host after every backward pass"
            : options.AnomalyDetection ? "anomaly detection checks every layer on the host"
            : trainer.Loss is not (SoftmaxCrossEntropyLoss or FocalLoss) ? $"the loss '{trainer.Loss.Name}' has no device-side step"
            : trainer.Accuracy is not ClassAccuracy ? $"the accuracy metric {trainer.Accuracy.GetType().Name} scores on the host"
            : options.Metrics.Count > 0 ? $"the metrics {string.Join(", ", options.Metrics)} score every batch on the host"
            : !trainer.Optimizer.HasMultiTensorUpdate ? $"the optimizer '{trainer.Optimizer.Name}' has no multi-tensor update"
            : model.InputShapes.Count != 1 || model.OutputShapes.Count != 1 || model.OutputShape.Rank != 1 ? "the model is not a one-input classifier"
            : null;
        if (why is not null)
        {
            path = $"host loop: {why}";
            return null;
        }
        string? graphsOff = options.CudaGraphs ? null : "TrainingOptions.CudaGraphs is off";
        var loop = new DeviceStepLoop(model, (CudaBackend)model.Backend, (ClassificationLoss)trainer.Loss, trainer.Optimizer, parameters,
            options.NonFiniteLoss, options.BatchSize, graphsOff);
        path = loop.Path;
        return loop;
    }

    /// <summary>The batch size that runs as a CUDA graph (others run eagerly).</summary>
    public int GraphBatch { get; }

    /// <summary>Why graphs are not used (the opt-out, or the capture that failed), or null when they are.</summary>
    public string? GraphsOffReason { get; private set; }

    /// <summary>What runs, for <see cref="Trainer.StepPath"/>.</summary>
    public string Path => GraphsOffReason is null
        ? $"device loop with CUDA graphs (one graph launch per batch of {GraphBatch}; other batch sizes eager)"
        : $"device loop, eager ({GraphsOffReason})";

    /// <summary>Steps issued and not yet read.</summary>
    public int Pending => _issued - _read;

    /// <summary>Whether the metrics ring is full, so the next step needs a <see cref="Read"/> first.</summary>
    public bool RingFull => Pending >= RingCapacity;

    /// <summary>Queues the zeroing of the epoch sums (seen, correct, loss sum, confusion) on the device.</summary>
    public void BeginEpoch() => _metrics.ResetEpoch();

    /// <summary>
    /// Queues one training step on host batch (<paramref name="images"/>, <paramref name="labels"/>) at learning rate
    /// <paramref name="learningRate"/>; nothing waits for the device (see the class remarks for what may).
    /// </summary>
    public void Issue(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, float learningRate)
    {
        if (RingFull) throw new InvalidOperationException($"DeviceStepLoop: {Pending} steps are unread; Read before issuing more.");
        int n = labels.Length;
        var b = Buffers(n);
        int slot = _pipeline.NextSlot;
        _pipeline.Upload(b.Input[slot], MemoryMarshal.AsBytes(images), b.Labels[slot], MemoryMarshal.AsBytes(labels));
        _issued++;
        Span<int> words = stackalloc int[StepScalars.Words];
        StepScalars.Write(words, learningRate, _startCount + _issued);
        _cuda.QueueUpload(_scalars, words);
        Span<int> seed = stackalloc int[4];
        foreach (var (layer, tensor) in _dropouts)
        {
            DropoutRng.WriteSeedAndOffset(seed, layer.Seed, layer.Counter);
            _cuda.QueueUpload(tensor, seed);
        }
        if (GraphsOffReason is null && n == GraphBatch) RunGraph(b, slot, n);
        else Body(b, slot);
        _pipeline.Consumed(slot);
    }

    // Replays the step's graph for (n, slot), capturing it first (after one eager run) when there is none or the memory
    // it recorded may have moved.
    private void RunGraph(StepBuffers b, int slot, int n)
    {
        if (_graphReleases != _cuda.MemoryReleases) DropGraphs();
        if (_graphs.TryGetValue((n, slot), out var graph))
        {
            _cuda.LaunchGraph(graph);
            var advance = _dropoutAdvance[n];
            for (int i = 0; i < _dropouts.Length; i++) _dropouts[i].Layer.Counter += advance[i];
            return;
        }
        var before = _dropouts.Select(d => d.Layer.Counter).ToArray();
        Body(b, slot); // the eager run: every buffer of this batch size and slot now exists
        var after = _dropouts.Select(d => d.Layer.Counter).ToArray();
        _dropoutAdvance[n] = after.Zip(before, (a, c) => a - c).ToArray();
        try
        {
            graph = _cuda.CaptureGraph($"the training step of model '{_model.Name}' at batch {n} (input slot {slot})", () => Body(b, slot));
            _graphs[(n, slot)] = graph;
        }
        catch (InvalidOperationException e)
        {
            DropGraphs();
            GraphsOffReason = $"graph capture failed, eager from now on: {e.Message}";
        }
        finally
        {
            for (int i = 0; i < _dropouts.Length; i++) _dropouts[i].Layer.Counter = after[i]; // the capture ran nothing
        }
        _graphReleases = _cuda.MemoryReleases;
    }

    // Forward, the classification step with the device metrics, backward, and the guarded multi-tensor update: the work
    // a graph records. Nothing here may allocate, free, upload, download or synchronize once the buffers exist.
    private void Body(StepBuffers b, int slot)
    {
        var logits = _model.Forward(b.Input[slot], training: true);
        _cuda.ClassificationStep(logits, b.Labels[slot], _kind, _gamma, b.Probabilities, b.Losses, b.Predictions, b.GradLogits, _metrics, _mode);
        _model.Backward(b.GradLogits);
        _optimizer.UpdateAll(_table, _scalars, _metrics.Guard, _mode == ClassificationStepMode.TrainSkipNonFinite);
    }

    /// <summary>
    /// Downloads the metrics (the one host wait of an interval: it waits for every issued step) and returns the records of
    /// the steps issued since the previous read, in order, with the device's epoch sums.
    /// </summary>
    public (IReadOnlyList<StepRecord> Steps, MetricsSnapshot Snapshot) Read()
    {
        var snapshot = _metrics.Read();
        if (snapshot.StepsRecorded != _issued)
            throw new InvalidOperationException($"DeviceStepLoop: the device recorded {snapshot.StepsRecorded} steps but {_issued} were issued.");
        var steps = new StepRecord[_issued - _read];
        for (int i = 0; i < steps.Length; i++, _read++)
            steps[i] = new StepRecord(snapshot.StepLoss(_read), snapshot.StepCorrect(_read), _read == snapshot.FirstNonFiniteStep);
        return (steps, snapshot);
    }

    private StepBuffers Buffers(int n)
    {
        int classes = _model.OutputShape[0];
        var sample = Shapes.Batch(_model.InputShape, n);
        var logits = TensorShape.Matrix(n, classes);
        return new StepBuffers(
            [_buffers.Get(_cuda, "input0", sample), _buffers.Get(_cuda, "input1", sample)],
            [_buffers.Get(_cuda, "labels0", TensorShape.Vector(n), DataType.Int32), _buffers.Get(_cuda, "labels1", TensorShape.Vector(n), DataType.Int32)],
            _buffers.Get(_cuda, "probabilities", logits), _buffers.Get(_cuda, "losses", TensorShape.Vector(n)),
            _buffers.Get(_cuda, "predictions", TensorShape.Vector(n), DataType.Int32), _buffers.Get(_cuda, "grad", logits));
    }

    private void DropGraphs()
    {
        if (_graphs.Count > 0) _cuda.Synchronize(); // no queued replay may still run a graph being freed
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
    }

    /// <summary>Waits for the queued steps (not after a sticky error), then frees the graphs, buffers, pipeline and metrics.</summary>
    public void Dispose()
    {
        foreach (var (layer, _) in _dropouts) layer.DeviceSeedAndOffset = null;
        if (_cuda.FatalError is null) _cuda.Synchronize();
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
        _pipeline.Dispose();
        _buffers.Dispose();
        _table.Dispose();
        _scalars.Dispose();
        foreach (var (_, words) in _dropouts) words.Dispose();
        _metrics.Dispose();
    }

    private sealed record StepBuffers(Tensor[] Input, Tensor[] Labels, Tensor Probabilities, Tensor Losses, Tensor Predictions, Tensor GradLogits);
}

/// <summary>One step as the device recorded it: its mean loss, correct predictions, and whether it was the first non-finite loss under the stop policy.</summary>
internal readonly record struct StepRecord(float Loss, int Correct, bool FirstNonFinite);
