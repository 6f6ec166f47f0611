using System.Collections.Concurrent;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Initializers;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>
/// The loader's pipeline: transforms on worker threads ahead of the consumer give the same batches as on the
/// consumer's thread, resume exactly mid-epoch, move spatial targets with the image, and surface worker errors.
/// </summary>
public sealed class DataPipelineTests
{
    private static TransformPipeline Augment() =>
        new(new RandomCrop(6, padding: 2), new RandomHorizontalFlip(), new RandomErasing(probability: 0.5));

    private static List<(int Index, float[] Images, int[] Labels, float[] Targets, int[] Samples)> Collect(IEnumerable<DataBatch> batches) =>
        batches.Select(b => (b.Index, b.Images.ToArray(), b.Labels.ToArray(), b.Targets.ToArray(), b.SampleIndices.ToArray())).ToList();

    private static void AssertSame(
        List<(int Index, float[] Images, int[] Labels, float[] Targets, int[] Samples)> expected,
        List<(int Index, float[] Images, int[] Labels, float[] Targets, int[] Samples)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Index, actual[i].Index);
            Assert.Equal(expected[i].Samples, actual[i].Samples);
            Assert.Equal(expected[i].Labels, actual[i].Labels);
            Assert.Equal(expected[i].Images, actual[i].Images); // bit-identical
            Assert.Equal(expected[i].Targets, actual[i].Targets);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 6)]
    public void WorkersGiveTheSameBatchesAsTheConsumersThread(int workers, int prefetch)
    {
        var data = DatasetTargetsTests.SyntheticImages(107, channels: 2, size: 6);
        var inline = new DataLoader(data, 16, shuffle: true, seed: 5) { Transforms = Augment() };
        var threaded = new DataLoader(data, 16, shuffle: true, seed: 5) { Transforms = Augment(), Workers = workers, Prefetch = prefetch };
        for (int epoch = 0; epoch < 3; epoch++)
            AssertSame(Collect(inline.Epoch(epoch)), Collect(threaded.Epoch(epoch)));
        Assert.Equal(7, threaded.LastEpochStatistics.Batches);
    }

    [Fact]
    public void AugmentedEpochsResumeExactlyAtAnyBatch()
    {
        var data = DatasetTargetsTests.SyntheticImages(50, size: 6);
        var loader = new DataLoader(data, 8, shuffle: true, seed: 11) { Transforms = Augment(), Workers = 2 };
        var all = Collect(loader.Epoch(3));
        for (int start = 0; start <= loader.BatchesPerEpoch; start++)
            AssertSame(all.Skip(start).ToList(), Collect(loader.Epoch(3, start)));
        // The transforms draw per (seed, epoch, sample): a sample gets the same augmentation whatever batch it lands in.
        var bigger = new DataLoader(data, 25, shuffle: true, seed: 11) { Transforms = Augment() };
        var perSample = all.SelectMany(b => b.Samples.Select((s, i) => (s, b.Images.Skip(i * 36).Take(36).ToArray()))).ToDictionary();
        foreach (var b in Collect(bigger.Epoch(3)))
            for (int i = 0; i < b.Samples.Length; i++)
                Assert.Equal(perSample[b.Samples[i]], b.Images.Skip(i * 36).Take(36).ToArray());
    }

    [Fact]
    public void ShardsOfAugmentedBatchesCoverTheGlobalBatch()
    {
        var data = DatasetTargetsTests.SyntheticImages(30, size: 6);
        var whole = Collect(new DataLoader(data, 10, shuffle: true, seed: 2) { Transforms = Augment() }.Epoch(1));
        var shards = Enumerable.Range(0, 3).Select(r =>
            Collect(new DataLoader(data, 10, shuffle: true, seed: 2) { Transforms = Augment(), Shard = new DataShard(r, 3), Workers = 1 }.Epoch(1))).ToList();
        for (int b = 0; b < whole.Count; b++)
            Assert.Equal(whole[b].Images, shards.SelectMany(s => s[b].Images).ToArray());
    }

    [Fact]
    public void SpatialTargetsMoveWithTheImageButAreNotErased()
    {
        // Segmentation: the mask is the image's first channel thresholded, so after a crop and a flip the mask must still
        // be the (un-erased) image thresholded at the same pixels.
        var images = DatasetTargetsTests.SyntheticImages(40, size: 8);
        var masks = images.Images.ToArray().Select(v => v > 0.5f ? 1f : 0f).ToArray();
        var data = Dataset.FromArrays(images.Images.ToArray(), images.SampleShape, masks, images.SampleShape, "segmentation");
        var loader = new DataLoader(data, 8, shuffle: true, seed: 3)
        {
            Transforms = new TransformPipeline(new RandomCrop(6, padding: 1), new RandomHorizontalFlip()),
            Workers = 2,
        };
        Assert.Equal([1, 6, 6], loader.TargetShape!.Dimensions);
        foreach (var batch in loader.Epoch(0))
        {
            Assert.Equal([batch.Count, 1, 6, 6], batch.TargetsShape!.Dimensions);
            var x = batch.Images.Span;
            var t = batch.Targets.Span;
            for (int i = 0; i < x.Length; i++)
            {
                // Padding: image fill 0 and mask 0 agree too.
                Assert.Equal(x[i] > 0.5f ? 1f : 0f, t[i]);
            }
        }
        var erasing = new DataLoader(data, 40, shuffle: false, seed: 3) { Transforms = new TransformPipeline(new RandomErasing(probability: 1, value: 1f)) };
        var only = erasing.Epoch(0).Single();
        Assert.Equal(masks, only.Targets.ToArray()); // a photometric step leaves the target alone
        Assert.NotEqual(images.Images.ToArray(), only.Images.ToArray());
    }

    [Fact]
    public void ClassLabelsAndVectorTargetsAreNotTransformed()
    {
        var data = DatasetTargetsTests.SyntheticImages(20, size: 6);
        var regression = Dataset.FromArrays(data.Images.ToArray(), data.SampleShape, Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), TensorShape.Of(2));
        var loader = new DataLoader(regression, 5, shuffle: true, seed: 1) { Transforms = Augment(), Workers = 1 };
        Assert.Equal([2], loader.TargetShape!.Dimensions);
        foreach (var b in loader.Epoch(0))
            for (int i = 0; i < b.Count; i++)
                Assert.Equal([2f * b.SampleIndices.Span[i], 2f * b.SampleIndices.Span[i] + 1], b.Targets.Slice(2 * i, 2).ToArray());
    }

    /// <summary>Records which samples it saw and can throw on one; shared by the worker threads.</summary>
    private sealed class Probe(int throwOn = -1) : SampleTransform
    {
        public ConcurrentBag<int> Seen { get; } = [];

        public override string Name => "probe";

        public override void Apply(TransformSample sample, HostRandom random)
        {
            if (sample.Index == throwOn) throw new FormatException($"probe failed on sample {sample.Index}");
            Seen.Add(sample.Index);
        }
    }

    [Fact]
    public void WorkersRunAheadOfTheConsumerByThePrefetchDepth()
    {
        var data = DatasetTargetsTests.SyntheticImages(60, size: 4);
        var probe = new Probe();
        var loader = new DataLoader(data, 10, shuffle: false, seed: 0) { Transforms = new TransformPipeline(probe), Workers = 2, Prefetch = 2 };
        using var e = loader.Epoch(0).GetEnumerator();
        Assert.True(e.MoveNext()); // the consumer holds batch 0 and does not ask for more
        // Batches 1 and 2 are made while the consumer still holds batch 0; batch 3 waits for batch 0's buffers.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (probe.Seen.Count < 30 && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Thread.Sleep(200);
        Assert.Equal(Enumerable.Range(0, 30), probe.Seen.Order());
        int batches = 1;
        while (e.MoveNext()) batches++;
        Assert.Equal(6, batches);
        Assert.Equal(60, probe.Seen.Count);
    }

    [Fact]
    public void AWorkersExceptionSurfacesAtItsBatchUnchanged()
    {
        var data = DatasetTargetsTests.SyntheticImages(60, size: 4);
        var loader = new DataLoader(data, 10, shuffle: false, seed: 0) { Transforms = new TransformPipeline(new Probe(throwOn: 35)), Workers = 3 };
        var delivered = new List<int>();
        var ex = Assert.Throws<FormatException>(() => { foreach (var b in loader.Epoch(0)) delivered.Add(b.Index); });
        Assert.Equal("probe failed on sample 35", ex.Message);
        Assert.Equal([0, 1, 2], delivered);
    }

    [Fact]
    public void LeavingAnEpochEarlyStopsTheWorkers()
    {
        var data = DatasetTargetsTests.SyntheticImages(200, size: 4);
        var probe = new Probe();
        var loader = new DataLoader(data, 10, shuffle: true, seed: 0) { Transforms = new TransformPipeline(probe), Workers = 2, Prefetch = 3 };
        foreach (var b in loader.Epoch(0))
            if (b.Index == 1) break;
        int made = probe.Seen.Count;
        Thread.Sleep(200);
        Assert.Equal(made, probe.Seen.Count); // joined: nothing runs after the enumerator is disposed
        Assert.InRange(made, 20, 60); // batches 0-1 consumed, at most 3 ahead (each worker finishes its batch)
    }

    [Fact]
    public void TransformsThatCannotTakeTheSamplesFailWhenTheLoaderIsMade()
    {
        var vectors = new Dataset(new float[12], [0, 1, 0], TensorShape.Of(4), ["a", "b"], "vectors");
        var e = Assert.Throws<ShapeMismatchException>(() => new DataLoader(vectors, 2, true, 0) { Transforms = Augment() });
        Assert.Contains("random_crop", e.Message);
        Assert.Throws<ConvNetArgumentException>(() => new DataLoader(vectors, 2, true, 0) { Workers = -1 });
        Assert.Throws<ConvNetArgumentException>(() => new DataLoader(vectors, 2, true, 0) { Prefetch = 0 });
    }
}
