using ConvNet.Gpu.Data;
using ConvNet.Gpu.Tests.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>The sharded sampler: every sample of every global batch exactly once, in the single-process order, for any world size.</summary>
public sealed class DataShardTests
{
    [Theory]
    [InlineData(64, 2)]
    [InlineData(7, 3)]
    [InlineData(2, 5)]
    [InlineData(1, 1)]
    [InlineData(0, 4)]
    public void Shards_cover_a_batch_exactly_with_sizes_differing_by_at_most_one(int batch, int world)
    {
        int next = 0;
        var sizes = new List<int>();
        for (int r = 0; r < world; r++)
        {
            var (start, count) = new DataShard(r, world).Of(batch);
            Assert.Equal(next, start);
            next += count;
            sizes.Add(count);
        }
        Assert.Equal(batch, next);
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(",", sizes));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Sharded_loaders_together_yield_the_single_process_batches(int world)
    {
        var data = SyntheticData.Squares(53, 2);
        var whole = new DataLoader(data, 10, shuffle: true, seed: 7);
        var shards = Enumerable.Range(0, world).Select(r => new DataLoader(data, 10, shuffle: true, seed: 7) { Shard = new DataShard(r, world) }).ToArray();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = whole.Epoch(epoch).Select(b => (b.SampleIndices.ToArray(), b.Labels.ToArray())).ToList();
            var parts = shards.Select(l => l.Epoch(epoch).Select(b => (b.SampleIndices.ToArray(), b.Labels.ToArray(), b.GlobalCount, b.ShardStart)).ToList()).ToArray();
            for (int b = 0; b < expected.Count; b++)
            {
                var indices = parts.SelectMany(p => p[b].Item1).ToArray();
                Assert.Equal(expected[b].Item1, indices);
                Assert.Equal(expected[b].Item2, parts.SelectMany(p => p[b].Item2).ToArray());
                Assert.All(parts, p => Assert.Equal(expected[b].Item1.Length, p[b].GlobalCount));
                Assert.Equal(0, parts[0][b].ShardStart);
            }
            Assert.Equal(53, parts.Sum(p => p.Sum(b => b.Item1.Length)));
        }
    }

    [Fact]
    public void A_rank_outside_the_world_is_refused()
    {
        var data = SyntheticData.Squares(8, 2);
        var e = Assert.Throws<ConvNetArgumentException>(() => new DataLoader(data, 4, false, 0) { Shard = new DataShard(2, 2) });
        Assert.Contains("Shard rank 2 is outside [0, 2)", e.Message, StringComparison.Ordinal);
    }
}
