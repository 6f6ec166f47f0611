using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

public sealed class DataLoaderTests
{
    /// <summary>A dataset whose sample i has every pixel equal to i and label i % 10, so a batch reveals which samples it holds.</summary>
    private static Dataset Indexed(int count, int c = 1, int h = 2, int w = 3)
    {
        int size = c * h * w;
        var images = new float[count * size];
        for (int i = 0; i < images.Length; i++) images[i] = i / size;
        var labels = Enumerable.Range(0, count).Select(i => i % 10).ToArray();
        return new Dataset(images, labels, TensorShape.Of(c, h, w), FashionMnist.ClassNames, "indexed");
    }

    /// <summary>The sample indices of every batch, read back from the pixels (not from SampleIndices).</summary>
    private static List<int[]> BatchSamples(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b =>
        {
            int size = b.SampleShape[0] * b.SampleShape[1] * b.SampleShape[2];
            var pixels = b.Images.Span;
            var ids = new int[b.Count];
            for (int i = 0; i < b.Count; i++)
            {
                ids[i] = (int)pixels[i * size];
                for (int k = 0; k < size; k++) Assert.Equal(ids[i], pixels[i * size + k]);
                Assert.Equal(ids[i] % 10, b.Labels.Span[i]);
            }
            Assert.Equal(ids, b.SampleIndices.ToArray());
            return ids;
        }).ToList();

    [Fact]
    public void SplitMix64MatchesPublishedTestVectors()
    {
        // Reference outputs of splitmix64.c (Vigna) for state 1234567.
        var rng = ShuffleRng.FromState(1234567);
        Assert.Equal(6457827717110365317UL, rng.NextUInt64());
        Assert.Equal(3203168211198807973UL, rng.NextUInt64());
        Assert.Equal(9817491932198370423UL, rng.NextUInt64());
        Assert.Equal(4593380528125082431UL, rng.NextUInt64());
        Assert.Equal(16408922859458223821UL, rng.NextUInt64());
    }

    [Fact]
    public void SameSeedAndEpochGiveTheSameBatches()
    {
        var data = Indexed(103);
        var a = new DataLoader(data, 16, shuffle: true, seed: 42);
        var b = new DataLoader(data, 16, shuffle: true, seed: 42);

        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(BatchSamples(a, epoch), BatchSamples(b, epoch));
        // Re-enumerating the same epoch later gives the same order again (no hidden state).
        Assert.Equal(BatchSamples(a, 1), BatchSamples(b, 1));
    }

    [Fact]
    public void DifferentEpochsAndSeedsGiveDifferentOrders()
    {
        var data = Indexed(200);
        var loader = new DataLoader(data, 32, shuffle: true, seed: 7);
        var orders = Enumerable.Range(0, 5).Select(loader.SampleOrder).ToList();
        for (int i = 0; i < orders.Count; i++)
            for (int j = i + 1; j < orders.Count; j++)
                Assert.NotEqual(orders[i], orders[j]);
        Assert.NotEqual(orders[0], Enumerable.Range(0, 200).ToArray());

        var otherSeed = new DataLoader(data, 32, shuffle: true, seed: 8);
        Assert.NotEqual(orders[0], otherSeed.SampleOrder(0));
    }

    [Theory]
    [InlineData(103, 16, false)]
    [InlineData(96, 16, false)]
    [InlineData(5, 16, false)]
    [InlineData(103, 1, false)]
    [InlineData(103, 16, true)]
    public void EverySampleAppearsExactlyOncePerEpoch(int count, int batchSize, bool dropLast)
    {
        var loader = new DataLoader(Indexed(count), batchSize, shuffle: true, seed: 3, dropLast: dropLast);

        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = BatchSamples(loader, epoch);
            Assert.Equal(loader.BatchesPerEpoch, batches.Count);
            var seen = batches.SelectMany(b => b).ToArray();
            Assert.Equal(loader.SamplesPerEpoch, seen.Length);
            Assert.Equal(seen.Length, seen.Distinct().Count());
            if (!dropLast) Assert.Equal(Enumerable.Range(0, count), seen.Order());
        }
    }

    [Fact]
    public void LastPartialBatchIsKeptOrDropped()
    {
        var data = Indexed(10);
        var keep = new DataLoader(data, 4, shuffle: true, seed: 1);
        var drop = new DataLoader(data, 4, shuffle: true, seed: 1, dropLast: true);

        Assert.Equal(3, keep.BatchesPerEpoch);
        Assert.Equal([4, 4, 2], keep.Epoch(0).Select(b => b.Count));
        Assert.Equal([0, 1, 2], keep.Epoch(0).Select(b => b.Index));
        Assert.Equal(2, drop.BatchesPerEpoch);
        Assert.Equal(8, drop.SamplesPerEpoch);
        Assert.Equal([4, 4], drop.Epoch(0).Select(b => b.Count));
        // Dropping only removes the tail: the kept batches are identical.
        Assert.Equal(BatchSamples(keep, 0).Take(2), BatchSamples(drop, 0));
        Assert.Equal(TensorShape.Nchw(2, 1, 2, 3), keep.Epoch(0).Last().Shape);
    }

    [Fact]
    public void BatchLargerThanTheDatasetGivesOneBatchOrNone()
    {
        var data = Indexed(5);
        Assert.Equal([5], new DataLoader(data, 8, shuffle: true, seed: 1).Epoch(0).Select(b => b.Count));
        Assert.Empty(new DataLoader(data, 8, shuffle: true, seed: 1, dropLast: true).Epoch(0));
    }

    [Fact]
    public void WithoutShuffleTheOrderIsTheDatasetOrder()
    {
        var loader = new DataLoader(Indexed(11), 4, shuffle: false, seed: 99);

        var samples = BatchSamples(loader, 5).SelectMany(b => b);

        Assert.Equal(Enumerable.Range(0, 11), samples);
    }

    [Fact]
    public void ResumingAtABatchYieldsTheRemainingBatches()
    {
        var loader = new DataLoader(Indexed(50), 8, shuffle: true, seed: 11);
        var all = BatchSamples(loader, 2);

        for (int start = 0; start <= loader.BatchesPerEpoch; start++)
        {
            var resumed = loader.Epoch(2, start).Select(b => (b.Index, b.SampleIndices.ToArray())).ToList();
            Assert.Equal(all.Skip(start), resumed.Select(r => r.Item2));
            Assert.Equal(Enumerable.Range(start, all.Count - start), resumed.Select(r => r.Index));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(2, loader.BatchesPerEpoch + 1));
    }

    [Fact]
    public void ShuffleIsUniformOverPermutations()
    {
        // 4 samples have 24 orders; over 24,000 epochs each should appear about 1000 times (sd ≈ 31).
        // A biased shuffle (e.g. swapping with any index, or modulo bias) fails this by far.
        var loader = new DataLoader(Indexed(4), 4, shuffle: true, seed: 2024);
        var counts = new Dictionary<string, int>();
        for (int epoch = 0; epoch < 24000; epoch++)
        {
            string key = string.Concat(loader.SampleOrder(epoch));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(24, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 850, 1150));
    }

    [Fact]
    public void NormalizationIsAppliedToBatchesButNotToTheDataset()
    {
        var data = Indexed(9);
        var norm = new Normalization(mean: 4f, std: 2.5f);
        var loader = new DataLoader(data, 4, shuffle: true, seed: 5, normalization: norm);

        foreach (var batch in loader.Epoch(0))
        {
            var ids = batch.SampleIndices.Span;
            var pixels = batch.Images.Span;
            for (int i = 0; i < batch.Count; i++)
                for (int k = 0; k < 6; k++)
                    Assert.Equal((ids[i] - 4.0) / 2.5, pixels[i * 6 + k], tolerance: 1e-6);
        }
        Assert.Equal(8f, data.Images.Span[6 * 8]); // untouched
    }

    [Fact]
    public void ConcurrentEnumerationsDoNotShareBuffers()
    {
        var loader = new DataLoader(Indexed(40), 8, shuffle: true, seed: 5);
        using var e1 = loader.Epoch(0).GetEnumerator();
        using var e2 = loader.Epoch(1).GetEnumerator();
        Assert.True(e1.MoveNext());
        var first = e1.Current.Images.ToArray();
        Assert.True(e2.MoveNext());
        Assert.Equal(first, e1.Current.Images.ToArray());
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        var data = Indexed(4);
        var e = Assert.Throws<ConvNetArgumentException>(() => new DataLoader(data, 0, shuffle: true, seed: 1));
        Assert.Contains("batch size must be at least 1, got 0", e.Message);
        var loader = new DataLoader(data, 2, shuffle: true, seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(-1));
    }
}
