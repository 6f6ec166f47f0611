using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// MpiCollectives over real Open MPI processes (mpirun, 1 thread per rank): the all-reduce equals the float64
/// rank-order sum bit for bit on every rank (each rank regenerates every rank's seeded input to check), repeats bit
/// for bit, handles lengths not divisible by the world; the all-gather carries unequal lengths; and a rank that hangs
/// makes the others fail within the timeout, naming it.
/// </summary>
public sealed class MpiCollectivesTests
{
    private const string Worker = "ConvNet.Gpu.MpiWorker.dll";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData(2, 100_003)]
    [InlineData(3, 2)] // fewer elements than ranks: a chunk is empty
    public void All_reduce_is_the_rank_order_sum_on_every_rank_and_repeats_bit_for_bit(int ranks, int n)
    {
        var first = MpiJob.Run(ranks, Worker, ["allreduce", n.ToString(System.Globalization.CultureInfo.InvariantCulture), "7"], Limit);
        Assert.True(first.ExitCode == 0, first.ToString());
        var digests = Lines(first, "allreduce").Select(l => l[(l.IndexOf("digest=", StringComparison.Ordinal) + 7)..]).ToList();
        Assert.Equal(ranks, digests.Count);
        Assert.All(Lines(first, "allreduce"), l => Assert.Contains("wrong=0", l, StringComparison.Ordinal));
        Assert.Single(digests.Distinct());
        var second = MpiJob.Run(ranks, Worker, ["allreduce", n.ToString(System.Globalization.CultureInfo.InvariantCulture), "7"], Limit);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"digest={digests[0]}", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void All_gather_carries_a_different_length_from_every_rank()
    {
        var r = MpiJob.Run(3, Worker, ["allgather"], Limit);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(3, Lines(r, "allgather a,bb,ccc").Count);
    }

    [Fact]
    public void A_hung_rank_makes_the_others_fail_naming_it_within_the_timeout()
    {
        var r = MpiJob.Run(3, Worker, ["hang", "1"], TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["WORKER_TIMEOUT"] = "3" });
        Assert.False(r.TimedOut, r.ToString());
        Assert.Equal(3, r.ExitCode); // MPI_Abort(3) from a rank that timed out
        Assert.Contains("did not complete within the 3 s collective timeout; no data arrived from rank 1", r.Output, StringComparison.Ordinal);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(45), r.ToString());
    }

    private static List<string> Lines(MpiJob.Result r, string what) =>
        r.Output.Split('\n').Where(l => l.StartsWith("rank ", StringComparison.Ordinal) && l.Contains(what, StringComparison.Ordinal)).ToList();
}
