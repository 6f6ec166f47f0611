namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// The learning rate as a function of the optimizer's base rate and the training position. Epoch schedules
/// (<see cref="Step"/>, <see cref="Cosine"/>) change the rate at epoch boundaries; step schedules
/// (<see cref="CosineSteps"/>, <see cref="OneCycle"/>, and any schedule <see cref="WithWarmup"/>) change it every batch.
/// The trainer sets <see cref="Optimizer.LearningRate"/> from <see cref="RateAtStep"/> before every step, so both kinds
/// resume exactly from a checkpoint (the rate depends only on the global step).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate for <paramref name="epoch"/> (epochs count from 0).</summary>
    public abstract float RateAt(int epoch, float baseRate);

    /// <summary>
    /// The rate for global step <paramref name="step"/> (0 for the first batch of the run) when an epoch has
    /// <paramref name="stepsPerEpoch"/> batches. Epoch schedules return <see cref="RateAt"/> of the step's epoch.
    /// </summary>
    public virtual float RateAtStep(long step, int stepsPerEpoch, float baseRate) =>
        RateAt((int)(step / Math.Max(stepsPerEpoch, 1)), baseRate);

    /// <summary>
    /// Whether the rate changes from batch to batch (cosine and one-cycle over steps, warmup): the trainer then sets it
    /// before every batch with <see cref="RateAtStep"/>; otherwise once per epoch with <see cref="RateAt"/>.
    /// </summary>
    public virtual bool IsPerStep => false;

    /// <summary>
    /// Cosine annealing per batch from the base rate to <paramref name="minRate"/> over <paramref name="totalSteps"/>
    /// steps (PyTorch's <c>CosineAnnealingLR</c> stepped every batch with T_max = totalSteps), then <paramref name="minRate"/>.
    /// </summary>
    public static LearningRateSchedule CosineSteps(long totalSteps, float minRate = 0f) => new CosineStepSchedule(totalSteps, minRate);

    /// <summary>
    /// The one-cycle policy (Smith and Topin 2019; PyTorch's <c>OneCycleLR</c> with cosine annealing and its defaults):
    /// over the first <paramref name="warmupFraction"/> of <paramref name="totalSteps"/> the rate rises from
    /// max / <paramref name="divFactor"/> to max (the optimizer's base rate), then falls to
    /// max / (<paramref name="divFactor"/> × <paramref name="finalDivFactor"/>) at the last step, each phase a half cosine.
    /// Momentum is not cycled.
    /// </summary>
    public static LearningRateSchedule OneCycle(long totalSteps, double warmupFraction = 0.3, double divFactor = 25, double finalDivFactor = 1e4) =>
        new OneCycleSchedule(totalSteps, warmupFraction, divFactor, finalDivFactor);

    /// <summary>
    /// This schedule with a linear warmup over the first <paramref name="warmupSteps"/> steps: the rate is this
    /// schedule's times f = <paramref name="startFactor"/> + (1 − startFactor) × step / warmupSteps, which goes from
    /// startFactor at step 0 to 1 at the end of the warmup (PyTorch's <c>LinearLR</c> chained with this schedule).
    /// </summary>
    public LearningRateSchedule WithWarmup(int warmupSteps, float startFactor = 0.01f) => new WarmupSchedule(this, warmupSteps, startFactor);

    /// <summary>The base rate throughout.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>Multiplies the rate by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs (PyTorch StepLR).</summary>
    public static LearningRateSchedule Step(int stepSize, float gamma = 0.1f) => new StepSchedule(stepSize, gamma);

    /// <summary>
    /// Cosine annealing from the base rate to <paramref name="minRate"/> over <paramref name="totalEpochs"/> epochs:
    /// min + (base - min) * (1 + cos(pi * epoch / total)) / 2, then <paramref name="minRate"/> (PyTorch CosineAnnealingLR, T_max = total).
    /// </summary>
    public static LearningRateSchedule Cosine(int totalEpochs, float minRate = 0f) => new CosineSchedule(totalEpochs, minRate);

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override float RateAt(int epoch, float baseRate) => baseRate;
        public override string ToString() => "constant";
    }

    private sealed class StepSchedule : LearningRateSchedule
    {
        private readonly int _stepSize;
        private readonly float _gamma;

        public StepSchedule(int stepSize, float gamma)
        {
            if (stepSize < 1) throw new ConvNetArgumentException($"Step schedule: step size must be at least 1 epoch, got {stepSize}.", nameof(stepSize));
            if (!(gamma > 0f) || !float.IsFinite(gamma)) throw new ConvNetArgumentException($"Step schedule: gamma must be positive, got {gamma}.", nameof(gamma));
            _stepSize = stepSize;
            _gamma = gamma;
        }

        public override float RateAt(int epoch, float baseRate) => (float)(baseRate * Math.Pow(_gamma, epoch / _stepSize));
        public override string ToString() => $"step(every {_stepSize} epochs x{_gamma})";
    }

    private sealed class CosineSchedule : LearningRateSchedule
    {
        private readonly int _total;
        private readonly float _min;

        public CosineSchedule(int total, float min)
        {
            if (total < 1) throw new ConvNetArgumentException($"Cosine schedule: total epochs must be at least 1, got {total}.", nameof(total));
            if (!(min >= 0f)) throw new ConvNetArgumentException($"Cosine schedule: minimum rate must be >= 0, got {min}.", nameof(min));
            _total = total;
            _min = min;
        }

        public override float RateAt(int epoch, float baseRate) =>
            epoch >= _total ? _min : (float)(_min + (baseRate - _min) * (1 + Math.Cos(Math.PI * epoch / _total)) / 2);

        public override string ToString() => $"cosine({_total} epochs, min {_min})";
    }

    private sealed class CosineStepSchedule : LearningRateSchedule
    {
        private readonly long _total;
        private readonly float _min;

        public CosineStepSchedule(long total, float min)
        {
            if (total < 1) throw new ConvNetArgumentException($"Cosine step schedule: total steps must be at least 1, got {total}.", nameof(total));
            if (!(min >= 0f)) throw new ConvNetArgumentException($"Cosine step schedule: minimum rate must be >= 0, got {min}.", nameof(min));
            _total = total;
            _min = min;
        }

        public override bool IsPerStep => true;

        public override float RateAt(int epoch, float baseRate) => RateAtStep(epoch, 1, baseRate);

        public override float RateAtStep(long step, int stepsPerEpoch, float baseRate) =>
            step >= _total ? _min : (float)(_min + (baseRate - _min) * (1 + Math.Cos(Math.PI * step / _total)) / 2);

        public override string ToString() => $"cosine({_total} steps, min {_min})";
    }

    private sealed class OneCycleSchedule : LearningRateSchedule
    {
        private readonly long _total;
        private readonly double _fraction, _div, _finalDiv;

        public OneCycleSchedule(long total, double fraction, double div, double finalDiv)
        {
            if (total < 2) throw new ConvNetArgumentException($"One-cycle schedule: total steps must be at least 2, got {total}.", nameof(total));
            if (!(fraction > 0 && fraction < 1)) throw new ConvNetArgumentException($"One-cycle schedule: the warmup fraction must be in (0, 1), got {fraction}.", nameof(fraction));
            if (!(div >= 1) || !(finalDiv >= 1) || !double.IsFinite(div) || !double.IsFinite(finalDiv))
                throw new ConvNetArgumentException($"One-cycle schedule: the division factors must be finite and >= 1, got {div} and {finalDiv}.");
            _total = total;
            _fraction = fraction;
            _div = div;
            _finalDiv = finalDiv;
        }

        public override bool IsPerStep => true;

        public override float RateAt(int epoch, float baseRate) => RateAtStep(epoch, 1, baseRate);

        // PyTorch's phases: up from step 0 to pct * total - 1, down from there to total - 1; half-cosine annealing
        // start + (end - start) * (1 - cos(pi * t)) / 2 with t the position inside the phase. Past the end: the final rate.
        public override float RateAtStep(long step, int stepsPerEpoch, float baseRate)
        {
            double max = baseRate, initial = max / _div, final = initial / _finalDiv;
            double upEnd = _fraction * _total - 1, downEnd = _total - 1;
            double s = Math.Min(step, _total - 1);
            double rate = s <= upEnd
                ? Anneal(initial, max, s / upEnd)
                : Anneal(max, final, (s - upEnd) / (downEnd - upEnd));
            return (float)rate;
        }

        private static double Anneal(double start, double end, double t) => end + (start - end) / 2 * (Math.Cos(Math.PI * t) + 1);

        public override string ToString() => $"one_cycle({_total} steps, warmup {_fraction}, div {_div}, final div {_finalDiv})";
    }

    private sealed class WarmupSchedule : LearningRateSchedule
    {
        private readonly LearningRateSchedule _inner;
        private readonly int _steps;
        private readonly float _start;

        public WarmupSchedule(LearningRateSchedule inner, int steps, float start)
        {
            if (steps < 1) throw new ConvNetArgumentException($"Warmup: the number of steps must be at least 1, got {steps}.", nameof(steps));
            if (!(start >= 0f && start <= 1f)) throw new ConvNetArgumentException($"Warmup: the start factor must be in [0, 1], got {start}.", nameof(start));
            _inner = inner;
            _steps = steps;
            _start = start;
        }

        public override bool IsPerStep => true;

        public override float RateAt(int epoch, float baseRate) => _inner.RateAt(epoch, baseRate);

        public override float RateAtStep(long step, int stepsPerEpoch, float baseRate)
        {
            float rate = _inner.RateAtStep(step, stepsPerEpoch, baseRate);
            return step >= _steps ? rate : (float)(rate * (_start + (1.0 - _start) * step / _steps));
        }

        public override string ToString() => $"{_inner} with {_steps}-step warmup from x{_start}";
    }
}
