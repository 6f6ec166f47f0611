using System.Text.Json.Nodes;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// Updates parameters from their gradients with backend ops. Per-parameter state (velocities, moments) is allocated on
/// the first <see cref="Step"/> and kept in the order of the parameter list, which must stay the same between steps
/// (a model's <c>Parameters</c> does). State and <see cref="StepCount"/> are saved in checkpoints.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly List<Tensor[]> _state = [];

    /// <summary>Creates the optimizer with a base learning rate.</summary>
    protected Optimizer(float learningRate)
    {
        if (!(learningRate >= 0f) || !float.IsFinite(learningRate))
            throw new ConvNetArgumentException($"Learning rate must be finite and >= 0, got {learningRate}.", nameof(learningRate));
        LearningRate = learningRate;
        BaseLearningRate = learningRate;
    }

    /// <summary>Short name, e.g. "sgd", "adam", "adamw".</summary>
    public abstract string Name { get; }

    /// <summary>The rate used by the next step (a schedule may change it every epoch).</summary>
    public float LearningRate { get; set; }

    /// <summary>The rate given at construction (schedules scale this one).</summary>
    public float BaseLearningRate { get; }

    /// <summary>Number of steps taken so far (Adam's bias correction uses it).</summary>
    public int StepCount { get; private set; }

    /// <summary>Names of the per-parameter state slots, e.g. ["velocity"] or ["m", "v"].</summary>
    public abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>Per-parameter state, one array of <see cref="SlotNames"/>.Count tensors per parameter (empty before the first step).</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> State => _state;

    /// <summary>Applies one update to every parameter from its current gradient.</summary>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        EnsureState(parameters);
        StepCount++;
        for (int i = 0; i < parameters.Count; i++) Update(parameters[i], _state[i]);
    }

    /// <summary>Allocates zeroed state for <paramref name="parameters"/> if not done yet, and checks it still matches them.</summary>
    public void EnsureState(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (_state.Count == 0)
        {
            foreach (var p in parameters)
            {
                var slots = new Tensor[SlotNames.Count];
                for (int s = 0; s < slots.Length; s++) slots[s] = Persistent.Allocate(p.Value.Backend, p.Shape);
                _state.Add(slots);
            }
            return;
        }
        if (_state.Count != parameters.Count)
            throw new InvalidOperationException($"{Name}: the optimizer holds state for {_state.Count} parameters but was given {parameters.Count}; use one optimizer per model.");
        for (int i = 0; i < parameters.Count; i++)
            if (!_state[i][0].Shape.SameDimensions(parameters[i].Shape))
                throw new InvalidOperationException($"{Name}: parameter {i} ({parameters[i].Name}) has shape {parameters[i].Shape} but the optimizer state has {_state[i][0].Shape}.");
    }

    /// <summary>
    /// The rows of a multi-tensor update over <paramref name="parameters"/> (value, gradient, then the state slots), for
    /// <see cref="IBackend.CreateParameterTable"/>; allocates the state first if needed.
    /// </summary>
    internal IReadOnlyList<IReadOnlyList<Tensor>> TableRows(IReadOnlyList<Parameter> parameters)
    {
        EnsureState(parameters);
        return parameters.Select((p, i) => (IReadOnlyList<Tensor>)[p.Value, p.Gradient, .. _state[i]]).ToList();
    }

    /// <summary>Whether <see cref="UpdateAll"/> exists (one launch for every parameter, reading its scalars from device memory).</summary>
    internal virtual bool HasMultiTensorUpdate => false;

    /// <summary>
    /// The update of every row of <paramref name="table"/> (<see cref="TableRows"/>) in one backend op, with the learning
    /// rate and step number read from <paramref name="stepScalars"/> (<see cref="StepScalars"/>) and guarded by
    /// <paramref name="guard"/> (<see cref="ClassificationMetrics.Guard"/>): what a captured CUDA graph replays. Does not
    /// change <see cref="StepCount"/> (the caller accounts the steps the device ran).
    /// </summary>
    internal virtual void UpdateAll(ParameterTable table, Tensor stepScalars, Tensor guard, bool skipNonFinite) =>
        throw new NotSupportedException($"{Name}: no multi-tensor update.");

    /// <summary>Restores the step count (checkpoint resume); state tensors are restored through <see cref="State"/>.</summary>
    public void RestoreStepCount(int steps)
    {
        if (steps < 0) throw new ConvNetArgumentException($"Step count must be >= 0, got {steps}.", nameof(steps));
        StepCount = steps;
    }

    /// <summary>Updates one parameter; <see cref="StepCount"/> is already incremented.</summary>
    protected abstract void Update(Parameter parameter, Tensor[] state);

    /// <summary>The hyper-parameters as JSON (saved with checkpoints, to refuse resuming with a different optimizer).</summary>
    public abstract JsonObject GetConfig();

    /// <summary>Frees the state.</summary>
    public void Dispose()
    {
        foreach (var slots in _state) foreach (var t in slots) t.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay (PyTorch semantics):
/// g = grad + wd*param; v = momentum*v + g; param -= lr * (nesterov ? g + momentum*v : v).
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Sgd(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f) : base(learningRate)
    {
        if (!(momentum >= 0f) || !float.IsFinite(momentum))
            throw new ConvNetArgumentException($"SGD momentum must be finite and >= 0, got {momentum}.", nameof(momentum));
        if (nesterov && momentum <= 0f)
            throw new ConvNetArgumentException("Nesterov momentum requires momentum > 0.", nameof(nesterov));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"Weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> SlotNames { get; } = ["velocity"];

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, Tensor[] state) =>
        parameter.Value.Backend.SgdStep(parameter.Value, parameter.Gradient, state[0], LearningRate, Momentum, WeightDecay, Nesterov);

    internal override bool HasMultiTensorUpdate => true;

    internal override void UpdateAll(ParameterTable table, Tensor stepScalars, Tensor guard, bool skipNonFinite) =>
        table.Backend.SgdStep(table, stepScalars, Momentum, WeightDecay, Nesterov, guard, skipNonFinite);

    /// <inheritdoc/>
    public override JsonObject GetConfig() => new()
    {
        ["type"] = Name, ["learning_rate"] = BaseLearningRate, ["momentum"] = Momentum, ["nesterov"] = Nesterov, ["weight_decay"] = WeightDecay,
    };
}

/// <summary>
/// Adam (Kingma and Ba) with bias correction; with <c>decoupledWeightDecay</c> it is AdamW (Loshchilov and Hutter),
/// otherwise weight decay is added to the gradient as L2.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates Adam with L2 weight decay (default none).</summary>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : this(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: false)
    {
    }

    /// <summary>Creates Adam or AdamW.</summary>
    protected Adam(float learningRate, float beta1, float beta2, float epsilon, float weightDecay, bool decoupled) : base(learningRate)
    {
        if (!(beta1 >= 0f && beta1 < 1f) || !(beta2 >= 0f && beta2 < 1f))
            throw new ConvNetArgumentException($"Adam betas must be in [0, 1), got beta1={beta1}, beta2={beta2}.");
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"Adam epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"Weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        DecoupledWeightDecay = decoupled;
    }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; }

    /// <summary>Denominator epsilon.</summary>
    public float Epsilon { get; }

    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the decay is decoupled (AdamW).</summary>
    public bool DecoupledWeightDecay { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> SlotNames { get; } = ["m", "v"];

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, Tensor[] state) =>
        parameter.Value.Backend.AdamStep(parameter.Value, parameter.Gradient, state[0], state[1], LearningRate, Beta1, Beta2, Epsilon,
            WeightDecay, DecoupledWeightDecay, StepCount);

    internal override bool HasMultiTensorUpdate => true;

    internal override void UpdateAll(ParameterTable table, Tensor stepScalars, Tensor guard, bool skipNonFinite) =>
        table.Backend.AdamStep(table, stepScalars, Beta1, Beta2, Epsilon, WeightDecay, DecoupledWeightDecay, guard, skipNonFinite);

    /// <inheritdoc/>
    public override JsonObject GetConfig() => new()
    {
        ["type"] = Name, ["learning_rate"] = BaseLearningRate, ["beta1"] = Beta1, ["beta2"] = Beta2, ["epsilon"] = Epsilon,
        ["weight_decay"] = WeightDecay,
    };
}

/// <summary>AdamW: Adam with decoupled weight decay, param *= 1 - lr*wd before the Adam update (default wd 0.01).</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW.</summary>
    public AdamW(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0.01f)
        : base(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true)
    {
    }

    /// <inheritdoc/>
    public override string Name => "adamw";
}
