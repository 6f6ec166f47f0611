using ConvNet.Gpu.Optimizers;
using Xunit;

namespace ConvNet.Gpu.Tests.Optimizers;

/// <summary>
/// Per-step schedules against PyTorch 1.13's schedulers (the rate before each optimizer step, printed with
/// /usr/bin/python3: OneCycleLR(max_lr=0.1, total_steps=10, cycle_momentum=False); OneCycleLR(..., total_steps=7,
/// pct_start=0.5, div_factor=10, final_div_factor=100); CosineAnnealingLR(T_max=8, eta_min=0.01); LinearLR(start_factor=0.25, total_iters=4)).
/// </summary>
public sealed class StepScheduleTests
{
    private static void AssertRates(double[] expected, Func<long, float> rate)
    {
        for (int step = 0; step < expected.Length; step++)
            Assert.True(Math.Abs(rate(step) - expected[step]) <= 1e-7 + 1e-6 * expected[step], $"step {step}: {rate(step)}, PyTorch {expected[step]}");
    }

    [Fact]
    public void OneCycleMatchesPyTorchWithItsDefaults() =>
        AssertRates([0.004, 0.052, 0.1, 0.0950484632, 0.0811745654, 0.0611262022, 0.0388741978, 0.0188258346, 0.0049519368, 4e-07],
            s => LearningRateSchedule.OneCycle(10).RateAtStep(s, 3, 0.1f));

    [Fact]
    public void OneCycleMatchesPyTorchWithOtherSettingsAndHoldsTheFinalRate()
    {
        var schedule = LearningRateSchedule.OneCycle(7, warmupFraction: 0.5, divFactor: 10, finalDivFactor: 100);
        AssertRates([0.01, 0.0410942353, 0.0914057647, 0.095053395, 0.0611649207, 0.0189066844, 0.0001], s => schedule.RateAtStep(s, 100, 0.1f));
        Assert.Equal(schedule.RateAtStep(6, 100, 0.1f), schedule.RateAtStep(50, 100, 0.1f));
    }

    [Fact]
    public void CosineStepsMatchesPyTorchUpToTMaxThenHoldsTheMinimum()
    {
        var schedule = LearningRateSchedule.CosineSteps(8, minRate: 0.01f);
        AssertRates([0.1, 0.096574579, 0.0868198052, 0.0722207545, 0.055, 0.0377792455, 0.0231801948, 0.013425421, 0.01],
            s => schedule.RateAtStep(s, 3, 0.1f));
        Assert.Equal(0.01f, schedule.RateAtStep(9, 3, 0.1f)); // PyTorch's recursive form would rise again; we stay at the minimum
    }

    [Fact]
    public void WarmupIsPyTorchsLinearLrOnTopOfTheSchedule()
    {
        AssertRates([0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1], s => LearningRateSchedule.Constant.WithWarmup(4, startFactor: 0.25f).RateAtStep(s, 2, 0.1f));
        // On an epoch schedule: the step schedule's epoch is step / stepsPerEpoch, and the warmup multiplies it.
        var stepped = LearningRateSchedule.Step(1, 0.5f).WithWarmup(2, startFactor: 0f);
        AssertRates([0, 0.05, 0.05, 0.05, 0.025, 0.025], s => stepped.RateAtStep(s, 2, 0.1f));
    }

    [Fact]
    public void EpochSchedulesChangeOnlyAtEpochBoundaries()
    {
        var cosine = LearningRateSchedule.Cosine(4);
        for (long step = 0; step < 12; step++) Assert.Equal(cosine.RateAt((int)(step / 3), 1f), cosine.RateAtStep(step, 3, 1f));
    }

    [Fact]
    public void BadSettingsAreRefused()
    {
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.OneCycle(1));
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.OneCycle(10, warmupFraction: 1));
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.OneCycle(10, divFactor: 0.5));
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.CosineSteps(0));
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.Constant.WithWarmup(0));
        Assert.Throws<ConvNetArgumentException>(() => LearningRateSchedule.Constant.WithWarmup(3, startFactor: 2f));
    }
}
