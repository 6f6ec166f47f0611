using System.Reflection;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Concurrency;

/// <summary>
/// The thread-safety contract: a backend runs one compute op at a time and a model serves one thread at a time.
/// Overlapping use from a second thread throws <see cref="ConcurrentUseException"/> naming both threads, before any
/// work; it never silently corrupts results (the bug: two models trained at once on one CpuBackend ended with 76% of
/// their weights wrong, and two threads predicting with one model got a wrong answer).
/// </summary>
public sealed class ConcurrentUseTests
{
    private static Sequential Model(IBackend b, ulong seed) =>
        new Sequential(b, (1, 12, 12), seed: seed)
            .Add(new Conv2D(8, 3, padding: 1), new ReLU(), new MaxPool2D(2), new Conv2D(16, 3, padding: 1), new ReLU())
            .Add(new Flatten(), new Dense(32), new ReLU(), new Dense(3));

    private static TrainingOptions Options => new() { Epochs = 3, BatchSize = 32, Seed = 9 };

    private static float[] Weights(Sequential m) => m.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()).ToArray();

    private static float[] TrainAlone(ulong seed, ConvNet.Gpu.Data.Dataset data)
    {
        using var backend = Backend.Cpu(2);
        using var model = Model(backend, seed);
        using var opt = new Adam(0.01f);
        new Trainer(model, opt).Fit(data, Options);
        return Weights(model);
    }

    [Fact]
    public void Two_models_trained_at_once_on_one_backend_each_end_as_if_trained_alone_or_throw()
    {
        var data = SyntheticData.Squares(480, 3, size: 12);
        var expected = new[] { TrainAlone(1, data), TrainAlone(2, data) };
        using var shared = Backend.Cpu(2);
        var outcomes = new object?[2];
        using var start = new Barrier(2);

        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            using var model = Model(shared, (ulong)i + 1);
            using var opt = new Adam(0.01f);
            start.SignalAndWait();
            try
            {
                new Trainer(model, opt).Fit(data, Options);
                outcomes[i] = Weights(model);
            }
            catch (ConcurrentUseException e)
            {
                outcomes[i] = e;
            }
        }) { Name = $"trainer-{i}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < 2; i++)
        {
            if (outcomes[i] is float[] weights)
                Assert.True(weights.AsSpan().SequenceEqual(expected[i]), $"model {i} finished with weights that differ from training it alone");
            else
                Assert.Contains("backend 'CPU' is in use by thread", Assert.IsType<ConcurrentUseException>(outcomes[i]).Message);
        }
    }

    [Fact]
    public void Predict_on_one_model_from_two_threads_returns_the_right_answer_or_throws()
    {
        var rng = new TestRng();
        using var backend = Backend.Cpu(2);
        using var model = Model(backend, 4);
        var inputs = new[] { rng.Uniform(64 * 144, 0f, 1f), rng.Uniform(64 * 144, 0f, 1f) };
        var expected = inputs.Select(x => model.Predict(x, 64, batchSize: 16).Probabilities).ToArray();
        int wrong = 0, refused = 0, right = 0;
        using var start = new Barrier(2);

        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            for (int k = 0; k < 40; k++)
            {
                try
                {
                    var p = model.Predict(inputs[i], 64, batchSize: 16).Probabilities;
                    if (p.AsSpan().SequenceEqual(expected[i])) Interlocked.Increment(ref right);
                    else Interlocked.Increment(ref wrong);
                }
                catch (ConcurrentUseException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }) { Name = $"predictor-{i}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.True(wrong == 0, rng.Label($"{wrong} of 80 predictions were wrong ({right} right, {refused} refused)"));
        Assert.Equal(80, right + refused);
    }

    [Fact]
    public void The_refused_call_names_both_threads_and_both_calls_and_the_holder_is_undisturbed()
    {
        using var backend = Backend.Cpu(1);
        var guard = ((BackendBase)backend).UseGuard;
        using var x = backend.Allocate(TensorShape.Vector(4));
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int holderId = 0;
        var holder = new Thread(() =>
        {
            holderId = Environment.CurrentManagedThreadId;
            using (guard.Enter("Conv2dForward"))
            {
                held.Set();
                release.Wait();
                backend.Fill(x, 3f); // re-entrant on the holding thread
            }
        }) { Name = "holder" };
        holder.Start();
        held.Wait(TestContext.Current.CancellationToken);

        var e = Assert.Throws<ConcurrentUseException>(() => backend.Fill(x, 1f));
        release.Set();
        holder.Join();

        Assert.Equal($"thread {holderId} 'holder'", e.OwnerThread);
        Assert.Equal("Conv2dForward", e.OwnerOperation);
        Assert.Equal("Fill", e.Operation);
        Assert.StartsWith($"thread {Environment.CurrentManagedThreadId}", e.CallerThread);
        Assert.Contains($"backend 'CPU' is in use by thread {holderId} 'holder' (Conv2dForward) while thread {Environment.CurrentManagedThreadId}", e.Message);
        Assert.Equal([3f, 3f, 3f, 3f], x.ToArray()); // the refused Fill did nothing
        backend.Fill(x, 1f); // free again: sequential use from another thread is fine
        Assert.Equal([1f, 1f, 1f, 1f], x.ToArray());
    }

    /// <summary>Every public compute op of BackendBase enters the guard first, so a new op cannot be added unguarded.</summary>
    [Fact]
    public void Every_compute_op_of_a_backend_is_guarded()
    {
        // QueueUpload is a memory op too (guarded, but its span argument cannot be passed through reflection).
        string[] memory = ["Allocate", "Upload", "QueueUpload", "Download", "Dispose", "Synchronize", "GetMemoryStats"];
        var ops = typeof(BackendBase).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && !m.IsAbstract && !memory.Contains(m.Name)).ToList();
        Assert.True(ops.Count >= 35, $"found only {ops.Count} ops");
        using var backend = Backend.Cpu(1);
        AssertRefusedWhileHeldElsewhere(((BackendBase)backend).UseGuard, ops.Select(m => (m.Name, (Action)(() =>
            m.Invoke(backend, m.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray())))));
    }

    [Fact]
    public void Every_entry_point_of_a_model_and_its_trainer_is_guarded()
    {
        using var backend = Backend.Cpu(1);
        using var model = Model(backend, 1);
        using var input = backend.Allocate(TensorShape.Nchw(2, 1, 12, 12));
        using var opt = new Sgd(0.1f);
        var trainer = new Trainer(model, opt);
        var data = SyntheticData.Squares(8, 1, size: 12);
        AssertRefusedWhileHeldElsewhere(model.UseGuard,
        [
            ("Forward", () => model.Forward(input, training: false)),
            ("Backward", () => model.Backward(input)),
            ("TrainStep", () => trainer.TrainStep(input, input)),
            ("Predict", () => model.Predict(new float[144], 1)),
            ("Evaluate", () => model.Evaluate(new float[144], [0])),
            ("Fit", () => trainer.Fit(data, 1)),
            ("TrainStep", () => trainer.TrainStep(new float[144], [0])),
        ]);
    }

    private static void AssertRefusedWhileHeldElsewhere(ConcurrencyGuard guard, IEnumerable<(string Name, Action Call)> calls)
    {
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            using (guard.Enter("test"))
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait(TestContext.Current.CancellationToken);
        try
        {
            foreach (var (name, call) in calls)
            {
                var e = Record.Exception(call);
                if (e is TargetInvocationException { InnerException: { } inner }) e = inner;
                Assert.True(e is ConcurrentUseException, $"{name} ran while another thread held the guard (got {e?.GetType().Name ?? "no exception"}: {e?.Message})");
            }
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }
}
