using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.ModelZoo;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The training loop that keeps the host out of the step (issue 12) on the emulated device: graph replay and eager
/// device steps give bit-identical weights and losses (dropout, batch norm, a partial last batch, validation between
/// epochs and a schedule included), the per-step counts are pinned (LeNet-5 in graph mode: one graph launch, no host
/// wait, no device-to-host copy per steady step; eager: at most 35 launches per Adam step), and the host loop still runs
/// where the device loop cannot, saying why.
/// </summary>
public sealed class DeviceStepLoopTests
{
    public DeviceStepLoopTests()
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
    }

    private static Sequential SmallNet(IBackend b) =>
        new Sequential(b, (1, 8, 8), seed: 77)
            .Add(new Conv2D(4, 3, padding: 1, useBias: false), new BatchNorm2D(), new ReLU(), new MaxPool2D(2))
            .Add(new Conv2D(6, 3, stride: 2, padding: 1, groups: 2), new ReLU())
            .Add(new Flatten(), new Dense(16), new ReLU(), new Dropout(0.3f), new Dense(3));

    private static (List<float> Losses, float[] Weights, string Path, List<EpochMetrics> Epochs) Fit(bool graphs, bool deviceLoop = true,
        Func<Optimizer>? optimizer = null)
    {
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
        using var model = SmallNet(cuda);
        using var opt = optimizer?.Invoke() ?? new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        // 86 samples in batches of 16: five full batches (graphs) and a partial one of 6 (eager) per epoch, with a
        // validation pass at another batch size in between, so the graphs are re-captured every epoch.
        var history = trainer.Fit(SyntheticData.Squares(86, 5), new TrainingOptions
        {
            Epochs = 3, BatchSize = 16, Seed = 99, CudaGraphs = graphs, DeviceLoop = deviceLoop,
            Validation = SyntheticData.Squares(20, 6), ValidationBatchSize = 7,
            Schedule = LearningRateSchedule.Step(1, 0.5f),
        });
        var weights = model.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray())
            .Concat(model.NamedState.SelectMany(s => s.State.Value.ToArray())).ToArray();
        Assert.Equal(18, opt.StepCount);
        return (history.StepLosses, weights, trainer.StepPath!, history.Epochs);
    }

    [Fact]
    public void Graph_replay_and_eager_device_steps_give_bit_identical_weights_and_losses()
    {
        var graph = Fit(graphs: true);
        var eager = Fit(graphs: false);
        Assert.StartsWith("device loop with CUDA graphs", graph.Path);
        Assert.Equal("device loop, eager (TrainingOptions.CudaGraphs is off)", eager.Path);
        Assert.Equal(18, graph.Losses.Count);
        Assert.Equal(eager.Losses, graph.Losses);
        TensorAssert.Equal(graph.Weights, eager.Weights, null, "weights after 18 steps, graph vs eager");
        Assert.Equal(eager.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationLoss)), graph.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationLoss)));
        Assert.True(graph.Losses[^1] < graph.Losses[0], $"loss should fall: {graph.Losses[0]} -> {graph.Losses[^1]}");
    }

    [Fact]
    public void The_device_loop_tracks_the_host_loop_on_the_same_device()
    {
        var device = Fit(graphs: true, optimizer: () => new Sgd(0.05f, momentum: 0.9f));
        var host = Fit(graphs: true, deviceLoop: false, optimizer: () => new Sgd(0.05f, momentum: 0.9f));
        Assert.Equal("host loop: TrainingOptions.DeviceLoop is off", host.Path);
        // The fused classification step and the multi-tensor update are the same arithmetic as the per-op path; the
        // loss's mean is the same float64 sum, so the losses agree to rounding of the softmax kernels.
        TensorAssert.Close(device.Losses.ToArray(), host.Losses.ToArray(), Tolerance.CudaVsCpuFp32, null, "step losses, device loop vs host loop");
        TensorAssert.Close(device.Weights, host.Weights, new Tolerance(1e-5, 1e-4), null, "weights, device loop vs host loop");
    }

    // Counts one steady-state step of LeNet-5 (batch 16, Adam) in each mode, through the loop Fit uses.
    private static CudaCounters SteadyStep(StepLoop loop)
    {
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions with { UseMemoryPool = true });
        using var model = ClassicModels.LeNet5(cuda, Shapes.Image(1, 28, 28));
        using var opt = new Adam(1e-3f);
        using var trainer = new Trainer(model, opt);
        float[] images = new TestRng().Uniform(16 * 784);
        int[] labels = Enumerable.Range(0, 16).Select(i => i % 10).ToArray();
        var step = StepCounts.Measure(trainer, images, labels, loop);
        Assert.Equal(5, opt.StepCount); // four warm-up steps and the counted one all updated
        return step;
    }

    [Fact]
    public void A_steady_LeNet5_step_in_graph_mode_is_one_graph_launch_with_no_host_wait_and_no_download()
    {
        var step = SteadyStep(StepLoop.DeviceGraph);
        Assert.Equal(1, step.GraphLaunches);
        Assert.Equal(0, step.HostWaits);
        Assert.Equal(0, step.DeviceToHostCopies);
        Assert.Equal(0, step.Launches);
        // The batch (images, labels) and the step scalars go up as queued copies; nothing else.
        Assert.Equal(3, step.HostToDeviceCopies);
    }

    [Fact]
    public void A_steady_eager_LeNet5_Adam_step_needs_at_most_35_launches_and_never_waits()
    {
        var step = SteadyStep(StepLoop.DeviceEager);
        Assert.True(step.Launches <= 35, step.Format());
        // On the emulated device (fixed algorithm order): forward 7 kernels (conv+bias+ReLU fused twice, 2 pools, 3
        // dense epilogues) and 3 GEMMs; the classification step 1; backward 10 kernels (bias-gradient prologues with
        // the ReLU derivative, 2 pools, the implicit-GEMM/depthwise weight and data passes) and 6 GEMMs; 1 multi-tensor Adam.
        Assert.True(step.KernelLaunches == 19 && step.GemmCalls == 9, step.Format());
        Assert.Equal(0, step.GraphLaunches);
        Assert.Equal(0, step.HostWaits);
        Assert.Equal(0, step.DeviceToHostCopies);
    }

    [Fact]
    public void The_host_loop_step_is_what_issue_12_started_from()
    {
        // The baseline the results file records: per-op launches, uploads, downloads and host waits every step.
        var step = SteadyStep(StepLoop.Host);
        Assert.Equal(0, step.GraphLaunches);
        Assert.True(step.HostWaits >= 2, $"host waits {step.HostWaits}");
        Assert.True(step.DeviceToHostCopies >= 2, $"downloads {step.DeviceToHostCopies}");
        Assert.True(step.Launches > 35, $"launches {step.Launches}");
    }

    // Logits straight from the pixels, so an infinite pixel gives infinite logits of both signs and a NaN loss (a ReLU
    // or max-pool would turn NaN into 0).
    private static Sequential Linear(IBackend b) => new Sequential(b, (1, 8, 8), seed: 5).Add(new Flatten(), new Dense(3));

    [Fact]
    public void A_non_finite_loss_stops_at_its_step_with_the_weights_of_the_step_before()
    {
        // Sample 40 is infinite; without shuffling it is in batch 2 (0-based) of epoch 0.
        var data = SyntheticData.Squares(64, 5);
        var images = data.Images.ToArray();
        images.AsSpan(40 * 64, 64).Fill(float.PositiveInfinity);
        var poisoned = new ConvNet.Gpu.Data.Dataset(images, data.Labels.ToArray(), data.SampleShape, data.ClassNames, "poisoned");
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
        using var model = Linear(cuda);
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        var seen = new List<int>();
        var e = Assert.Throws<NonFiniteLossException>(() =>
        {
            trainer.Fit(poisoned, new TrainingOptions
            {
                Epochs = 1, BatchSize = 16, Shuffle = false, Callbacks = [new OnBatch((_, p) => seen.Add(p.Batch))],
            });
        });
        Assert.StartsWith("device loop", trainer.StepPath);
        Assert.Contains("at epoch 0, batch 2 (global step 2)", e.Message);
        Assert.Equal([0, 1], seen); // the steps before it were delivered, in order
        Assert.Equal(2, trainer.Position.GlobalStep);
        Assert.Equal(2, opt.StepCount);

        // The step after it (batch 3, queued before the read) updated nothing either: the weights are those of two steps.
        using var model2 = Linear(cuda);
        using var opt2 = new Adam(0.01f);
        new Trainer(model2, opt2).Fit(poisoned, new TrainingOptions { Epochs = 1, BatchSize = 16, Shuffle = false, MaxSteps = 2 });
        TensorAssert.Equal(model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray(), model2.Parameters.SelectMany(p => p.Value.ToArray()).ToArray(),
            null, "weights after the non-finite step vs after the two steps before it");
    }

    [Fact]
    public void Under_SkipUpdate_a_non_finite_step_is_skipped_on_the_device_and_counted()
    {
        var data = SyntheticData.Squares(64, 5);
        var images = data.Images.ToArray();
        images.AsSpan(40 * 64, 64).Fill(float.PositiveInfinity);
        var poisoned = new ConvNet.Gpu.Data.Dataset(images, data.Labels.ToArray(), data.SampleShape, data.ClassNames, "poisoned");
        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
        using var model = Linear(cuda);
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        var history = trainer.Fit(poisoned, new TrainingOptions { Epochs = 1, BatchSize = 16, Shuffle = false, NonFiniteLoss = NonFiniteLossPolicy.SkipUpdate });
        Assert.Equal(4, history.StepLosses.Count);
        Assert.False(float.IsFinite(history.StepLosses[2]));
        Assert.Equal(1, history.Epochs[0].SkippedUpdates);
        Assert.Equal(3, opt.StepCount);
        Assert.Equal(4, trainer.Position.GlobalStep);
    }

    private sealed class OnBatch(Action<Trainer, BatchProgress> action) : TrainingCallback
    {
        public override void OnBatchEnd(Trainer trainer, BatchProgress progress) => action(trainer, progress);
    }

    [Fact]
    public void The_host_loop_runs_where_the_device_loop_cannot_and_says_why()
    {
        using var cpu = Backend.Cpu(1);
        using var model = SmallNet(cpu);
        using var opt = new Adam(0.01f);
        var trainer = new Trainer(model, opt);
        trainer.Fit(SyntheticData.Squares(16, 5), new TrainingOptions { Epochs = 1, BatchSize = 16 });
        Assert.Equal($"host loop: the {cpu.Name} backend runs every step on the host", trainer.StepPath);

        using var cuda = Backend.CudaEmulated(CudaTestBackends.EmulatedOptions);
        using var model2 = SmallNet(cuda);
        using var opt2 = new Adam(0.01f);
        var hooked = new Trainer(model2, opt2);
        hooked.GradientHooks.Add(new NoHook());
        hooked.Fit(SyntheticData.Squares(16, 5), new TrainingOptions { Epochs = 1, BatchSize = 16 });
        Assert.Equal("host loop: gradient hooks run on the host after every backward pass", hooked.StepPath);
    }

    private sealed class NoHook : IGradientHook
    {
        public void OnGradients(IReadOnlyList<Parameters.Parameter> parameters, long step) { }
    }
}
