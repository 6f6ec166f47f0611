namespace ConvNet.Gpu.Training;

/// <summary>
/// When <see cref="Trainer.Fit(Data.Dataset, TrainingOptions)"/> declares a run diverged and stops with a
/// <see cref="TrainingDivergedException"/>, besides a non-finite loss (see <see cref="TrainingOptions.NonFiniteLoss"/>):
/// <list type="bullet">
/// <item><b>loss growth</b>: the mean training loss of the current epoch exceeds <see cref="MaxLossRatio"/> times the
/// loss at the start of training (the first batch's loss, before any update). Checked after every batch once
/// <see cref="MinBatches"/> batches of the epoch have run, and at the end of every epoch;</item>
/// <item><b>collapse to chance</b>: an epoch ends with a training accuracy at chance level (at most
/// (1 + <see cref="ChanceMargin"/>) / classes) although an earlier epoch of the run ended above it.</item>
/// </list>
/// The references (start loss, best epoch accuracy) are saved in training checkpoints, so a resumed run is judged
/// against the start of the original run. <see cref="Default"/> is what Fit uses unless told otherwise.
/// </summary>
public sealed record DivergencePolicy
{
    /// <summary>A loss ratio of 100, checked from the 10th batch of an epoch, and the collapse-to-chance rule with a 20% margin.</summary>
    public static DivergencePolicy Default { get; } = new();

    /// <summary>Only a non-finite loss stops training (the behaviour before this policy existed).</summary>
    public static DivergencePolicy NonFiniteOnly { get; } = new() { MaxLossRatio = double.PositiveInfinity, StopAtChanceAccuracy = false };

    /// <summary>
    /// How many times the start loss the epoch's mean training loss may reach; greater than 1, or
    /// <see cref="double.PositiveInfinity"/> to turn the rule off. Default 100.
    /// </summary>
    public double MaxLossRatio { get; init; } = 100;

    /// <summary>Batches of an epoch to run before the loss ratio is checked mid-epoch (it is always checked at the epoch's end); at least 1. Default 10.</summary>
    public int MinBatches { get; init; } = 10;

    /// <summary>Whether an epoch ending at chance-level accuracy after an epoch above it stops training. Default true.</summary>
    public bool StopAtChanceAccuracy { get; init; } = true;

    /// <summary>How far above 1/classes an accuracy still counts as chance, relative (0.2: up to 12% for 10 classes); 0 to 1. Default 0.2.</summary>
    public double ChanceMargin { get; init; } = 0.2;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ConvNetArgumentException">A setting is out of range (named with its value).</exception>
    public void Validate()
    {
        if (double.IsNaN(MaxLossRatio) || MaxLossRatio <= 1)
            throw new ConvNetArgumentException($"DivergencePolicy.MaxLossRatio must be greater than 1 (or infinity to turn it off), got {MaxLossRatio}.");
        if (MinBatches < 1)
            throw new ConvNetArgumentException($"DivergencePolicy.MinBatches must be at least 1, got {MinBatches}.");
        if (!(ChanceMargin >= 0 && ChanceMargin <= 1))
            throw new ConvNetArgumentException($"DivergencePolicy.ChanceMargin must be between 0 and 1, got {ChanceMargin}.");
    }

    /// <summary>Whether <paramref name="accuracy"/> is at chance level for <paramref name="classes"/> classes.</summary>
    public bool IsChance(double accuracy, int classes) => accuracy <= (1 + ChanceMargin) / classes;
}

/// <summary>
/// The references a <see cref="DivergencePolicy"/> judges a run against, kept by the <see cref="Trainer"/> and saved in
/// training checkpoints.
/// </summary>
/// <param name="StartLoss">The loss of the run's first batch (before any update); null before it has run.</param>
/// <param name="BestEpochAccuracy">The highest training accuracy an epoch of the run ended with; null before the first epoch ends.</param>
public readonly record struct DivergenceReference(double? StartLoss, double? BestEpochAccuracy);

/// <summary>Applies a <see cref="DivergencePolicy"/> batch by batch and epoch by epoch, throwing when it trips.</summary>
internal sealed class DivergenceMonitor(DivergencePolicy policy, DivergenceReference reference, int classes)
{
    public DivergenceReference Reference { get; private set; } = reference;

    /// <summary>After a batch that updated the weights; <paramref name="epochMeanLoss"/> covers <paramref name="epochBatches"/> batches.</summary>
    public void AfterBatch(float batchLoss, double epochMeanLoss, int epochBatches, int epoch, int batch, long step)
    {
        if (Reference.StartLoss is null)
        {
            Reference = Reference with { StartLoss = batchLoss };
            return;
        }
        if (epochBatches >= policy.MinBatches) CheckLoss(epochMeanLoss, epoch, batch, step);
    }

    /// <summary>At the end of an epoch, with its mean training loss and accuracy.</summary>
    public void AfterEpoch(double meanLoss, double accuracy, int epoch, int batch, long step)
    {
        if (!double.IsNaN(meanLoss)) CheckLoss(meanLoss, epoch, batch, step);
        if (double.IsNaN(accuracy)) return; // a task without an accuracy (regression): nothing to collapse
        if (policy.StopAtChanceAccuracy && Reference.BestEpochAccuracy is double best && !policy.IsChance(best, classes)
            && policy.IsChance(accuracy, classes))
            throw new TrainingDivergedException(DivergenceKind.CollapsedToChance, epoch, batch, step, meanLoss,
                FormattableString.Invariant($"Training diverged at the end of epoch {epoch + 1} (after {step} steps): the training accuracy fell to {accuracy * 100:0.00}%, ")
                + FormattableString.Invariant($"chance level for {classes} classes, after an earlier epoch reached {best * 100:0.00}%. ")
                + "Lower the learning rate, or set DivergencePolicy.StopAtChanceAccuracy to false.");
        if (Reference.BestEpochAccuracy is null || accuracy > Reference.BestEpochAccuracy)
            Reference = Reference with { BestEpochAccuracy = accuracy };
    }

    private void CheckLoss(double meanLoss, int epoch, int batch, long step)
    {
        if (Reference.StartLoss is not double start || !(meanLoss > policy.MaxLossRatio * Math.Max(start, 1e-6))) return;
        throw new TrainingDivergedException(DivergenceKind.LossGrowth, epoch, batch, step, meanLoss,
            FormattableString.Invariant($"Training diverged at epoch {epoch + 1}, batch {batch + 1} (after {step} steps): the mean training loss of the epoch, {meanLoss:G4}, ")
            + FormattableString.Invariant($"is more than {policy.MaxLossRatio:G4} times the loss at the start of training ({start:G4}). ")
            + "Lower the learning rate, or raise DivergencePolicy.MaxLossRatio.");
    }
}
