namespace ConvNet.Gpu.Training;

/// <summary>Which rule declared a run diverged.</summary>
public enum DivergenceKind
{
    /// <summary>A batch's loss was NaN or infinite (<see cref="NonFiniteLossException"/>).</summary>
    NonFiniteLoss,
    /// <summary>The epoch's mean loss grew past <see cref="DivergencePolicy.MaxLossRatio"/> times the start loss.</summary>
    LossGrowth,
    /// <summary>An epoch ended at chance-level accuracy after an earlier one ended above it.</summary>
    CollapsedToChance,
}

/// <summary>
/// Training was stopped because it diverged (see <see cref="DivergencePolicy"/> and <see cref="NonFiniteLossPolicy"/>).
/// The weights are those after the last update (for a non-finite loss: before the failing batch's update); they are
/// not worth saving. The message says what tripped, where, and which setting to change.
/// </summary>
public class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">The rule that tripped.</param>
    /// <param name="epoch">Epoch (0-based).</param>
    /// <param name="batch">Batch inside the epoch (0-based) at which it tripped.</param>
    /// <param name="step">Global step at which it tripped.</param>
    /// <param name="loss">The loss that tripped it (a batch's, or an epoch's mean).</param>
    /// <param name="message">What happened and what to change.</param>
    public TrainingDivergedException(DivergenceKind kind, int epoch, int batch, long step, double loss, string message) : base(message)
    {
        Kind = kind;
        Epoch = epoch;
        Batch = batch;
        Step = step;
        Loss = loss;
    }

    /// <summary>The rule that tripped.</summary>
    public DivergenceKind Kind { get; }

    /// <summary>Epoch (0-based).</summary>
    public int Epoch { get; }

    /// <summary>Batch inside the epoch (0-based).</summary>
    public int Batch { get; }

    /// <summary>Global step.</summary>
    public long Step { get; }

    /// <summary>The loss that tripped the rule.</summary>
    public double Loss { get; }
}
