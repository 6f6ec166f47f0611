using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Tests.Training;
using ConvNet.Gpu.Training;
using ConvNet.Gpu.Training.Distributed;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// Data-parallel training against one process, in one process: N ranks (threads of an <see cref="InProcessWorld"/>,
/// each with its own single-threaded CPU backend, model and optimizer) with global batch B must end with the weights of
/// one process with batch B. The only difference allowed is the order of the gradient sums (per rank, then across
/// ranks in rank order, versus one sum over the batch): float32 rounding, amplified a little by the steps.
/// </summary>
public sealed class DataParallelTests
{
    // Measured on every test below (2026-11-29): the largest difference is 1.2e-7 absolute (a few float32 ulps of the
    // weights, ~0.1-0.5), after up to 12 SGD or Adam steps. The tolerance leaves ~10x headroom; per-rank BatchNorm
    // statistics differ by 1.1e-3 and an unweighted loss gradient by far more, so both fail it.
    private const float Atol = 1e-6f, Rtol = 1e-4f;

    private static Sequential LeNetLike(IBackend b, ulong seed = 5, bool batchNorm = false, float dropout = 0f)
    {
        var m = new Sequential(b, (1, 8, 8), seed: seed).Add(new Conv2D(4, 3, padding: 1));
        if (batchNorm) m.Add(new BatchNorm2D());
        m.Add(new ReLU(), new MaxPool2D(2), new Flatten(), new Dense(12), new ReLU());
        if (dropout > 0) m.Add(new Dropout(dropout));
        return m.Add(new Dense(3));
    }

    private static float[] Weights(Sequential m) =>
        m.NamedParameters.SelectMany(p => p.Parameter.Value.ToArray()).Concat(m.NamedState.SelectMany(s => s.State.Value.ToArray())).ToArray();

    private sealed record Run(float[] Weights, List<float> Losses, TrainingHistory History, CommunicationStatistics? Statistics);

    private static Run Train(ICollectives? collectives, Dataset data, TrainingOptions template, Func<IBackend, Sequential> model,
        Func<Optimizer> optimizer, DataParallelOptions? parallelOptions = null, Func<Loss>? loss = null)
    {
        using var backend = Backend.Cpu(1);
        using var m = model(backend);
        using var opt = optimizer();
        var trainer = loss is null ? new Trainer(m, opt) : new Trainer(m, opt, loss());
        var parallel = collectives is null ? null : new DataParallel(collectives, parallelOptions);
        var history = trainer.Fit(data, With(template, parallel));
        return new Run(Weights(m), history.StepLosses, history, parallel?.Statistics);
    }

    private static TrainingOptions With(TrainingOptions t, DataParallel? parallel) => new()
    {
        UntilEpoch = t.UntilEpoch ?? t.Epochs, BatchSize = t.BatchSize, Seed = t.Seed, MaxSteps = t.MaxSteps, DropLast = t.DropLast, DataParallel = parallel,
    };

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double excess = Math.Abs(actual[i] - expected[i]) - (Atol + Rtol * Math.Abs(expected[i]));
            if (at < 0 || excess > worst) (worst, at) = (excess, i);
        }
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs(actual[i] - expected[i]));
            maxRel = Math.Max(maxRel, Math.Abs(actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), 1e-3));
        }
        Assert.True(worst <= 0, $"{what}: weight {at} is {actual[at]:R}, one process has {expected[at]:R} (atol {Atol}, rtol {Rtol}; " +
            $"max abs difference {maxAbs:E2}, max relative {maxRel:E2})");
    }

    private static void AssertBitIdentical(float[] a, float[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"{what}: weight {i} {a[i]:R} vs {b[i]:R}");
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void Two_ranks_with_global_batch_64_end_with_the_weights_of_one_process(string optimizer)
    {
        var data = SyntheticData.Squares(64 * 6, 11);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 64, Seed = 3, MaxSteps = 12 };
        Func<Optimizer> make = optimizer == "sgd" ? () => new Sgd(0.1f, momentum: 0.9f) : () => new Adam(0.01f);
        var single = Train(null, data, options, b => LeNetLike(b), make);
        var ranks = InProcessWorld.Run(2, c => Train(c, data, options, b => LeNetLike(b), make));

        AssertBitIdentical(ranks[0].Weights, ranks[1].Weights, "rank 0 vs rank 1");
        AssertClose(single.Weights, ranks[0].Weights, "2 ranks x 32 vs 1 x 64");
        Assert.Equal(12, ranks[0].Losses.Count);
        for (int s = 0; s < 12; s++) Assert.Equal(single.Losses[s], ranks[0].Losses[s], 1e-4f);
        Assert.False(ranks[0].Weights.SequenceEqual(Train(null, data, options, b => LeNetLike(b, seed: 6), make).Weights));
    }

    [Fact]
    public void Bucket_size_and_world_size_repeat_do_not_change_the_bits()
    {
        var data = SyntheticData.Squares(200, 2);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 40, Seed = 9 };
        var small = InProcessWorld.Run(3, c => Train(c, data, options, b => LeNetLike(b), () => new Adam(0.01f), new DataParallelOptions { BucketBytes = 256 }));
        var large = InProcessWorld.Run(3, c => Train(c, data, options, b => LeNetLike(b), () => new Adam(0.01f)));
        var again = InProcessWorld.Run(3, c => Train(c, data, options, b => LeNetLike(b), () => new Adam(0.01f)));
        AssertBitIdentical(small[0].Weights, large[0].Weights, "256-byte buckets vs one bucket");
        AssertBitIdentical(large[0].Weights, again[0].Weights, "two runs");
        AssertBitIdentical(large[0].Weights, large[2].Weights, "rank 0 vs rank 2");
    }

    [Theory]
    [InlineData(67, 10, 3)] // last global batch of 7: shards of 2, 2, 3
    [InlineData(61, 10, 3)] // last global batch of 1: two ranks have nothing to do and contribute zeros
    [InlineData(50, 7, 4)]  // batches of 7 over 4 ranks: shards of 1, 2, 2, 2
    public void Uneven_shards_and_short_last_batches_match_one_process(int samples, int batch, int world)
    {
        var data = SyntheticData.Squares(samples, 4);
        var options = new TrainingOptions { Epochs = 2, BatchSize = batch, Seed = 21 };
        var single = Train(null, data, options, b => LeNetLike(b), () => new Sgd(0.05f, momentum: 0.9f));
        var ranks = InProcessWorld.Run(world, c => Train(c, data, options, b => LeNetLike(b), () => new Sgd(0.05f, momentum: 0.9f)));
        AssertClose(single.Weights, ranks[0].Weights, $"{world} ranks, {samples} samples, batch {batch}");
        Assert.Equal(single.History.Epochs[^1].TrainAccuracy, ranks[world - 1].History.Epochs[^1].TrainAccuracy, 6);
        Assert.Equal(single.History.Epochs[^1].TrainLoss, ranks[world - 1].History.Epochs[^1].TrainLoss, 3);
    }

    [Fact]
    public void Synchronized_batchnorm_matches_one_process_and_per_rank_batchnorm_does_not()
    {
        var data = SyntheticData.Squares(64 * 4, 8);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 64, Seed = 5 };
        var single = Train(null, data, options, b => LeNetLike(b, batchNorm: true), () => new Sgd(0.1f, momentum: 0.9f));
        var synced = InProcessWorld.Run(2, c => Train(c, data, options, b => LeNetLike(b, batchNorm: true), () => new Sgd(0.1f, momentum: 0.9f),
            new DataParallelOptions { SynchronizeBatchNorm = true }));
        var local = InProcessWorld.Run(2, c => Train(c, data, options, b => LeNetLike(b, batchNorm: true), () => new Sgd(0.1f, momentum: 0.9f)));

        AssertClose(single.Weights, synced[0].Weights, "synchronized BatchNorm (weights and running statistics)");
        AssertBitIdentical(synced[0].Weights, synced[1].Weights, "synchronized ranks");
        // Per-rank statistics are a different (valid) algorithm: the running statistics, averaged over shards of 32, differ.
        Assert.Throws<Xunit.Sdk.TrueException>(() => AssertClose(single.Weights, local[0].Weights, "per-rank BatchNorm"));
    }

    [Fact]
    public void Dropout_draws_the_masks_one_process_would()
    {
        var data = SyntheticData.Squares(48 * 4, 6);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 48, Seed = 8 };
        var single = Train(null, data, options, b => LeNetLike(b, dropout: 0.5f), () => new Sgd(0.1f));
        var ranks = InProcessWorld.Run(3, c => Train(c, data, options, b => LeNetLike(b, dropout: 0.5f), () => new Sgd(0.1f)));
        AssertClose(single.Weights, ranks[1].Weights, "dropout over 3 ranks");
    }

    [Fact]
    public void A_checkpoint_from_two_ranks_resumes_on_three_and_on_one()
    {
        var data = SyntheticData.Squares(30 * 5, 3);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 30, Seed = 13 };
        var straight = Train(null, data, options, b => LeNetLike(b), () => new Adam(0.01f));
        string dir = Directory.CreateTempSubdirectory("convnet-dp-resume").FullName;
        try
        {
            string path = Path.Combine(dir, "k.ckpt");
            InProcessWorld.Run(2, c =>
            {
                using var backend = Backend.Cpu(1);
                using var m = LeNetLike(backend);
                using var opt = new Adam(0.01f);
                var trainer = new Trainer(m, opt);
                trainer.Fit(data, With(new TrainingOptions { Epochs = 2, BatchSize = 30, Seed = 13, MaxSteps = 7 }, new DataParallel(c)));
                if (c.Rank == 0) trainer.SaveCheckpoint(path);
                return 0;
            });
            float[] Resume(ICollectives? c)
            {
                using var backend = Backend.Cpu(1);
                using var m = Sequential.Load(path, backend);
                using var opt = new Adam(0.01f);
                var trainer = new Trainer(m, opt);
                trainer.RestoreCheckpoint(path);
                Assert.Equal(7, trainer.Position.GlobalStep);
                trainer.Fit(data, With(options, c is null ? null : new DataParallel(c)));
                return Weights(m);
            }
            AssertClose(straight.Weights, InProcessWorld.Run(3, Resume)[0], "2 ranks, then 3");
            AssertClose(straight.Weights, Resume(null), "2 ranks, then 1");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Mismatched_batch_sizes_and_seeds_are_refused_at_start_up_on_every_rank()
    {
        var data = SyntheticData.Squares(64, 1);
        var errors = InProcessWorld.Run(2, c =>
        {
            var options = new TrainingOptions { Epochs = 1, BatchSize = c.Rank == 0 ? 32 : 16, Seed = 1 };
            return Record.Exception(() => Train(c, data, options, b => LeNetLike(b, seed: c.Rank == 0 ? 5UL : 6UL), () => new Sgd(0.1f)));
        });
        foreach (var e in errors)
        {
            var m = Assert.IsType<DistributedMismatchException>(e);
            Assert.Contains("batch size: rank 0 has 32, rank 1 has 16", m.Message, StringComparison.Ordinal);
            Assert.Contains("weights and running statistics: rank 0 has", m.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_rank_that_never_joins_makes_the_others_fail_naming_it_within_the_timeout()
    {
        var data = SyntheticData.Squares(64, 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var errors = InProcessWorld.Run(3, c =>
        {
            if (c.Rank == 2) return null; // never calls a collective: a hung or dead rank
            return Record.Exception(() => Train(c, data, new TrainingOptions { Epochs = 1, BatchSize = 32 }, b => LeNetLike(b), () => new Sgd(0.1f)));
        }, timeout: TimeSpan.FromSeconds(2));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var e = Assert.IsType<CollectiveTimeoutException>(errors[0]);
        Assert.Equal([2], e.MissingRanks);
        Assert.Contains("start-up fingerprint", e.Message, StringComparison.Ordinal);
        Assert.Contains("rank 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multi_label_accuracy_counts_elements_across_ranks_as_one_process_does()
    {
        // Three tags per sample (BCE with logits): accuracy is correct elements over scored elements. Ranks must sum both
        // counts; dividing the elements correct by the samples (the bug this pins) gives values near 3.
        var squares = SyntheticData.Squares(96, 7);
        var hot = new float[squares.Count * 3];
        var x = new float[squares.Count * 64];
        for (int n = 0; n < squares.Count; n++)
        {
            int label = squares.Labels.Span[n];
            squares.GetImage(n).Span.CopyTo(x.AsSpan(n * 64, 64));
            hot[n * 3 + label] = 1;
            hot[n * 3 + (label + 1) % 3] = n % 2; // a second tag on every other sample
        }
        var data = Dataset.MultiLabel(x, TensorShape.Of(1, 8, 8), hot, ["a", "b", "c"], "tags");
        var options = new TrainingOptions { Epochs = 2, BatchSize = 32, Seed = 3 };
        var single = Train(null, data, options, b => LeNetLike(b), () => new Adam(0.01f), loss: () => new BinaryCrossEntropyWithLogitsLoss());
        var ranks = InProcessWorld.Run(2, c => Train(c, data, options, b => LeNetLike(b), () => new Adam(0.01f), loss: () => new BinaryCrossEntropyWithLogitsLoss()));
        for (int e = 0; e < 2; e++)
        {
            double one = single.History.Epochs[e].TrainAccuracy, two = ranks[0].History.Epochs[e].TrainAccuracy;
            Assert.InRange(one, 0.0, 1.0);
            Assert.True(Math.Abs(one - two) <= 1.0 / (96 * 3), $"epoch {e + 1}: 2 ranks report {two}, one process {one}");
            Assert.Equal(two, ranks[1].History.Epochs[e].TrainAccuracy);
        }
    }

    [Fact]
    public void Statistics_count_steps_bytes_and_a_communication_share()
    {
        var data = SyntheticData.Squares(128, 1);
        var runs = InProcessWorld.Run(2, c => Train(c, data, new TrainingOptions { Epochs = 1, BatchSize = 32 }, b => LeNetLike(b), () => new Sgd(0.1f),
            new DataParallelOptions { BucketBytes = 512 }));
        var s = runs[0].Statistics!;
        Assert.Equal(4, s.Steps);
        using var b = Backend.Cpu(1);
        using var m = LeNetLike(b);
        Assert.Equal((m.TrainableParameterCount + 3) * 4, s.BytesPerStep); // + the step's loss, correct and scored counts
        Assert.InRange(s.CommunicationShare, 1e-9, 1.0);
        Assert.True(s.ExposedWait <= s.CommunicationTime);
    }

    /// <summary>
    /// A device engine for the test: sums a backend tensor through the host collectives (what NCCL does on the device).
    /// It lets the device path of the gradient buckets (flat buffer, views, backend copies) run on the CPU backend.
    /// </summary>
    private sealed class HostBackedDeviceCollectives(ICollectives host) : IDeviceCollectives
    {
        public int Rank => host.Rank;
        public int WorldSize => host.WorldSize;
        public string Description => "test device engine over " + host.Description;
        public int Calls { get; private set; }

        public void AllReduceSum(Tensor tensor)
        {
            var values = tensor.ToArray();
            host.AllReduceSum(values, "device all-reduce");
            tensor.Upload(values);
            Calls++;
        }

        public void Synchronize() { }
    }

    [Fact]
    public void The_device_bucket_path_gives_the_bits_of_the_host_path()
    {
        var data = SyntheticData.Squares(120, 12);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 30, Seed = 2 };
        var host = InProcessWorld.Run(2, c => Train(c, data, options, b => LeNetLike(b, batchNorm: true), () => new Adam(0.01f),
            new DataParallelOptions { BucketBytes = 300 }));
        var device = InProcessWorld.Run(2, c =>
        {
            var engine = new HostBackedDeviceCollectives(c);
            using var backend = Backend.Cpu(1);
            using var m = LeNetLike(backend, batchNorm: true);
            using var opt = new Adam(0.01f);
            using var parallel = new DataParallel(c, new DataParallelOptions { BucketBytes = 300 }, engine);
            new Trainer(m, opt).Fit(data, With(options, parallel));
            return (Weights(m), engine.Calls, parallel.BucketCount);
        });
        AssertBitIdentical(host[0].Weights, device[0].Item1, "device buckets vs host buckets");
        Assert.True(device[0].BucketCount > 2, $"{device[0].BucketCount} buckets");
        Assert.Equal(4 * device[0].BucketCount, device[0].Calls); // 4 steps, every bucket once per step
    }

    [Fact]
    public void Only_rank_zero_writes_checkpoints_through_the_callback()
    {
        var data = SyntheticData.Squares(60, 3);
        string root = Directory.CreateTempSubdirectory("convnet-dp-callback").FullName;
        try
        {
            InProcessWorld.Run(2, c =>
            {
                string dir = Path.Combine(root, $"rank{c.Rank}");
                using var backend = Backend.Cpu(1);
                using var m = LeNetLike(backend);
                using var opt = new Sgd(0.1f);
                new Trainer(m, opt).Fit(data, new TrainingOptions
                {
                    Epochs = 1, BatchSize = 20, DataParallel = new DataParallel(c), Callbacks = [new CheckpointCallback(dir, monitor: "loss")],
                });
                return 0;
            });
            Assert.True(File.Exists(Path.Combine(root, "rank0", "last.ckpt")));
            Assert.True(File.Exists(Path.Combine(root, "rank0", "best.ckpt")));
            Assert.False(Directory.Exists(Path.Combine(root, "rank1")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
