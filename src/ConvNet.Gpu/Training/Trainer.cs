using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Parameters;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Trains a <see cref="Model"/> (a <see cref="Sequential"/> or a graph model) with an optimizer and a loss.
/// <see cref="Fit(Dataset, TrainingOptions)"/> runs epochs of seeded mini-batches with per-batch and per-epoch events,
/// validation, callbacks, cancellation and non-finite-loss handling; <see cref="Position"/> says where training stands
/// so that a checkpoint written at any batch (<see cref="SaveCheckpoint"/>) resumes exactly there, bit for bit on the CPU.
/// </summary>
/// <remarks>
/// Every update, whether from <see cref="Fit(Dataset, TrainingOptions)"/> or a <c>TrainStep</c> overload, runs through one
/// step: forward in training mode, the loss, the one non-finite-loss rule (a NaN or infinite loss never reaches the
/// weights: it throws <see cref="NonFiniteLossException"/>, or skips the update under
/// <see cref="NonFiniteLossPolicy.SkipUpdate"/>), backward, the <see cref="GradientHooks"/>, the optimizer update, and
/// the <see cref="Accuracy"/> metric. Extension points: any <see cref="Losses.Loss"/> on device tensors
/// (<see cref="TrainStep(Tensor, Tensor, NonFiniteLossPolicy)"/>), gradient hooks after backward (all-reduce, clipping),
/// and the accuracy metric (which may accumulate on the device).
/// </remarks>
public sealed partial class Trainer : IDisposable
{
    private readonly bool _ownsLoss;
    private readonly Workspace _batch = new();
    private IReadOnlyList<Parameter>? _parameters;

    /// <summary>
    /// Creates a trainer with any loss: softmax cross-entropy (the default) or focal loss on class indices, MSE, L1 or
    /// Huber on float targets (regression, an autoencoder's input), binary cross-entropy on logits for multi-hot
    /// vectors and masks. Fit and Evaluate check before the first batch that the data's targets fit the loss and the
    /// model's output (see <see cref="Dataset.TargetKind"/>).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The model ends in <see cref="Softmax"/> and the loss is a classification loss over logits.</exception>
    public Trainer(Model model, Optimizer optimizer, Loss? loss = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if ((loss is null or ClassificationLoss) && model.OutputShapes.Count == 1 && Evaluator.EndsInSoftmax(model))
            throw new ConvNetArgumentException(
                $"Model '{model.Name}' ends in Softmax, but the trainer's loss expects logits; remove the final Softmax (Predict applies it).");
        Model = model;
        Optimizer = optimizer;
        Loss = loss ?? new SoftmaxCrossEntropyLoss();
        _ownsLoss = loss is null;
        Accuracy = AccuracyMetric.For(Loss);
    }

    /// <summary>Frees the trainer's batch buffers, its accuracy metric, and the loss when the trainer created it (the model and optimizer belong to the caller).</summary>
    public void Dispose()
    {
        _batch.Dispose();
        Accuracy.Dispose();
        if (_ownsLoss) Loss.Dispose();
    }

    /// <summary>The model being trained.</summary>
    public Model Model { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss.</summary>
    public Loss Loss { get; }

    /// <summary>The metric behind every reported accuracy; by default the one that fits the loss (<see cref="AccuracyMetric.For"/>).</summary>
    public AccuracyMetric Accuracy { get; set; }

    /// <summary>Called after every backward pass and before the optimizer update, in order (see <see cref="IGradientHook"/>).</summary>
    public IList<IGradientHook> GradientHooks { get; } = [];

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

    /// <summary>
    /// One optimization step on a host batch of a classifier (images: count x input sample; labels: count class indices).
    /// Does not move <see cref="Position"/>. A non-finite loss follows <paramref name="nonFiniteLoss"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The batch does not fit the model.</exception>
    /// <exception cref="ConvNetArgumentException">A label is out of range.</exception>
    /// <exception cref="NonFiniteLossException">The loss is NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>; no weight changed.</exception>
    public StepResult TrainStep(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, NonFiniteLossPolicy nonFiniteLoss = NonFiniteLossPolicy.Throw)
    {
        using var use = Model.UseGuard.Enter("TrainStep");
        int classes = Evaluator.ClassCount(Model);
        if (labels.Length < 1 || images.Length != labels.Length * Model.InputShape.ElementCount)
            throw new ShapeMismatchException($"TrainStep: {labels.Length} labels need {labels.Length} samples of {Model.InputShape}, got {images.Length} floats.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ConvNetArgumentException($"TrainStep: label {labels[i]} at index {i} is outside [0, {classes}).", nameof(labels));
        PrepareUpdates();
        return Step(Upload(images, labels), nonFiniteLoss);
    }

    private DataParallel? _parallel;
    private LearningRateSchedule? _schedule;

    /// <summary>The schedule of the Fit in progress (null outside Fit or without one); callbacks that set the rate check it.</summary>
    internal LearningRateSchedule? ActiveSchedule => _schedule;

    /// <summary>The data-parallel setup of the current or last <see cref="Fit(Dataset, TrainingOptions)"/>, or null for one process.</summary>
    public DataParallel? DataParallel => _parallel;

    /// <summary>
    /// One optimization step on a batch already on the model's backend, with any loss: <paramref name="input"/> is
    /// (N, input sample) and <paramref name="targets"/> what <see cref="Loss"/> takes (int32 labels (N) for a
    /// classification loss, floats shaped like the output for <see cref="MeanSquaredErrorLoss"/>). Does not move
    /// <see cref="Position"/>. A non-finite loss follows <paramref name="nonFiniteLoss"/>.
    /// </summary>
    /// <exception cref="NonFiniteLossException">The loss is NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>; no weight changed.</exception>
    public StepResult TrainStep(Tensor input, Tensor targets, NonFiniteLossPolicy nonFiniteLoss = NonFiniteLossPolicy.Throw)
    {
        using var use = Model.UseGuard.Enter("TrainStep");
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(targets);
        PrepareUpdates();
        return Step((input, targets), nonFiniteLoss);
    }

    /// <summary>Evaluates the model on <paramref name="data"/> (normalized with <paramref name="normalization"/> if given) with this trainer's loss, whatever the task.</summary>
    /// <remarks>
    /// Classification data gives the confusion matrix (per-class precision, recall and F1); other tasks give the
    /// metrics that fit them (see <see cref="Evaluator.Evaluate(Model, Dataset, int, Loss?, Normalization?, IReadOnlyList{string}?)"/>),
    /// plus any named in <paramref name="metrics"/>.
    /// </remarks>
    /// <exception cref="ShapeMismatchException">The samples or targets do not fit the model.</exception>
    /// <exception cref="ConvNetArgumentException">The targets do not fit the loss, or a metric name is unknown or does not fit the task.</exception>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 256, Normalization? normalization = null, IReadOnlyList<string>? metrics = null) =>
        Evaluator.Evaluate(Model, data, batchSize, Loss, normalization, metrics);

    // The single training step every public entry point runs (see the class remarks). The extra metrics of a Fit
    // count the batches whose update was not skipped, like the epoch's loss and accuracy.
    private StepResult Step((Tensor Input, Tensor Targets) batch, NonFiniteLossPolicy policy, IReadOnlyList<Metric>? metrics = null)
    {
        var output = Model.Forward(batch.Input, training: true);
        float loss = Loss.Forward(output, batch.Targets);
        bool skip = SkipUpdate(loss, policy);
        if (!skip && metrics is not null)
            foreach (var metric in metrics) metric.Update(output, batch.Targets);
        if (!skip)
        {
            Model.Backward(Loss.Backward());
            Update();
        }
        var (correct, total) = Score(output, batch.Targets);
        return new StepResult(loss, (int)correct, (int)total, skip);
    }

    /// <summary>The <see cref="Accuracy"/> metric's count for one batch the loss has just run on.</summary>
    internal (long Correct, long Total) Score(Tensor output, Tensor targets)
    {
        Accuracy.Accumulate(output, targets, Loss);
        return Accuracy.Read();
    }

    // The one non-finite-loss rule: a NaN or infinite loss never updates the weights; it throws (naming the step) or,
    // when the policy says so, the update is skipped and counted.
    internal bool SkipUpdate(float loss, NonFiniteLossPolicy policy)
    {
        if (float.IsFinite(loss)) return false;
        if (policy == NonFiniteLossPolicy.Throw) throw new NonFiniteLossException(Position.Epoch, Position.Batch, Position.GlobalStep, loss);
        return true;
    }

    // The gradient hooks, in order, then the optimizer update of the trainable parameters.
    internal void Update()
    {
        var parameters = _parameters!;
        foreach (var hook in GradientHooks) hook.OnGradients(parameters, Position.GlobalStep);
        Optimizer.Step(parameters);
    }

    // The trainable parameters (fixed for a Fit call) with their optimizer state allocated.
    private void PrepareUpdates()
    {
        _parameters = Model.Parameters;
        Optimizer.EnsureState(_parameters);
    }

    /// <summary>Uploads a host batch into the trainer's device buffers: (N, input sample) floats and (N) int32 labels.</summary>
    internal (Tensor Input, Tensor Targets) Upload(ReadOnlySpan<float> images, ReadOnlySpan<int> labels)
    {
        int n = labels.Length;
        var input = _batch.Get(Model.Backend, "input", Shapes.Batch(Model.InputShape, n));
        input.Upload(images);
        var targets = _batch.Get(Model.Backend, "labels", TensorShape.Vector(n), DataType.Int32);
        targets.Upload(labels);
        return (input, targets);
    }

    /// <summary>
    /// Uploads a loader batch into the trainer's device buffers: the inputs, and its targets as the loss takes them
    /// (int32 class indices (N), or floats shaped like the model's output (N, output...)).
    /// </summary>
    internal (Tensor Input, Tensor Targets) Upload(DataBatch batch)
    {
        if (batch.HasLabels) return Upload(batch.Images.Span, batch.Labels.Span);
        int n = batch.Count;
        var input = _batch.Get(Model.Backend, "input", Shapes.Batch(Model.InputShape, n));
        input.Upload(batch.Images.Span);
        var targets = _batch.Get(Model.Backend, "targets", Shapes.Batch(Model.OutputShape, n));
        targets.Upload(batch.Targets.Span);
        return (input, targets);
    }
}
