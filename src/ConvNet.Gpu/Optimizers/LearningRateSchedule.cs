namespace ConvNet.Gpu.Optimizers;

/// <summary>
/// The learning rate for each epoch as a function of the optimizer's base rate (epochs count from 0). The trainer
/// sets <see cref="Optimizer.LearningRate"/> from it at the start of every epoch.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate for <paramref name="epoch"/>.</summary>
    public abstract float RateAt(int epoch, float baseRate);

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
}
