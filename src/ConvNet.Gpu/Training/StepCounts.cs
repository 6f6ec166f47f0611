using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Training;

/// <summary>Which training loop <see cref="StepCounts.Measure"/> counts.</summary>
public enum StepLoop
{
    /// <summary>The host loop: <see cref="Trainer.TrainStep(ReadOnlySpan{float}, ReadOnlySpan{int}, NonFiniteLossPolicy)"/>, which uploads, reads the loss and scores on the host every step.</summary>
    Host,

    /// <summary>The device loop with every op launched one by one (<see cref="TrainingOptions.CudaGraphs"/> off).</summary>
    DeviceEager,

    /// <summary>The device loop replaying the captured CUDA graph of the step.</summary>
    DeviceGraph,
}

/// <summary>
/// What one steady-state training step asks of a CUDA device (kernel launches, GEMMs, copies, host waits, graph
/// launches; see <see cref="CudaCounters"/>), counted on the backend the trainer's model lives on, the emulated device
/// included: the numbers behind <c>profile-step</c>, <c>convnet bench</c> and the structure tests of issue 12.
/// </summary>
public static class StepCounts
{
    /// <summary>
    /// Runs <paramref name="warmupSteps"/> steps of <paramref name="loop"/> on the host batch (<paramref name="images"/>,
    /// <paramref name="labels"/>) so every buffer exists and both input slots' graphs are captured, then counts one more
    /// step, then waits for the device. The model is trained by those steps (use a throw-away model or copy).
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The model is not on a CUDA backend, or the device loop cannot run this trainer (the message says why).</exception>
    public static CudaCounters Measure(Trainer trainer, ReadOnlySpan<float> images, ReadOnlySpan<int> labels, StepLoop loop, int warmupSteps = 4)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.Model.Backend is not CudaBackend cuda)
            throw new ConvNetArgumentException($"StepCounts: the model is on {trainer.Model.Backend.Name}; counts are kept by a CUDA backend.", nameof(trainer));
        if (warmupSteps < 2) throw new ConvNetArgumentException($"StepCounts: at least 2 warm-up steps (one per input slot), got {warmupSteps}.", nameof(warmupSteps));
        if (loop == StepLoop.Host)
        {
            for (int i = 0; i < warmupSteps; i++) trainer.TrainStep(images, labels, NonFiniteLossPolicy.SkipUpdate);
            var start = cuda.Counters;
            trainer.TrainStep(images, labels, NonFiniteLossPolicy.SkipUpdate);
            var counts = cuda.Counters - start;
            cuda.Synchronize();
            return counts;
        }
        var options = new TrainingOptions { BatchSize = labels.Length, CudaGraphs = loop == StepLoop.DeviceGraph, NonFiniteLoss = NonFiniteLossPolicy.SkipUpdate };
        using var device = DeviceStepLoop.TryCreate(trainer, options, trainer.Model.Parameters, out string path)
            ?? throw new ConvNetArgumentException($"StepCounts: the device loop cannot run here ({path}).", nameof(trainer));
        if (loop == StepLoop.DeviceGraph && device.GraphsOffReason is { } off)
            throw new ConvNetArgumentException($"StepCounts: no CUDA graphs ({off}).", nameof(loop));
        float rate = trainer.Optimizer.LearningRate;
        for (int i = 0; i < warmupSteps; i++) device.Issue(images, labels, rate);
        var before = cuda.Counters;
        device.Issue(images, labels, rate);
        var step = cuda.Counters - before;
        var (steps, _) = device.Read();
        int updates = steps.Count(s => float.IsFinite(s.Loss));
        trainer.Optimizer.RestoreStepCount(trainer.Optimizer.StepCount + updates);
        if (loop == StepLoop.DeviceGraph && device.GraphsOffReason is { } failed)
            throw new InvalidOperationException($"StepCounts: the graph capture failed ({failed}).");
        return step;
    }
}
