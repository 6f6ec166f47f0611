using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Distributed.Nccl;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>Rank, world size and local rank from the launcher's variables; engine selection and its errors.</summary>
public sealed class LaunchEnvironmentTests
{
    private static Func<string, string?> Vars(params (string, string)[] pairs) => name => pairs.FirstOrDefault(p => p.Item1 == name).Item2;

    [Fact]
    public void Open_mpi_variables_win_over_torchrun_style_ones()
    {
        var e = LaunchEnvironment.Detect(Vars(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
            ("RANK", "3"), ("WORLD_SIZE", "8")));
        Assert.Equal((1, 4, 1), (e.Rank, e.WorldSize, e.LocalRank));
        Assert.True(e.IsOpenMpi);
    }

    [Fact]
    public void Torchrun_style_variables_and_none()
    {
        var e = LaunchEnvironment.Detect(Vars(("RANK", "2"), ("WORLD_SIZE", "3"), ("LOCAL_RANK", "0")));
        Assert.Equal((2, 3, 0, false), (e.Rank, e.WorldSize, e.LocalRank, e.IsOpenMpi));
        Assert.Same(LaunchEnvironment.Single, LaunchEnvironment.Detect(Vars()));
    }

    [Theory]
    [InlineData("2", "2", "RANK=2 is outside [0, WORLD_SIZE=2)")]
    [InlineData("x", "2", "RANK='x' is not an integer")]
    [InlineData("0", "0", "WORLD_SIZE=0: the world size must be at least 1")]
    public void Bad_values_are_refused_naming_the_variable(string rank, string size, string message)
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => LaunchEnvironment.Detect(Vars(("RANK", rank), ("WORLD_SIZE", size))));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_world_of_one_needs_no_mpi_and_several_ranks_without_mpirun_are_refused()
    {
        using (var single = Collectives.Create(LaunchEnvironment.Single))
        {
            Assert.IsType<SingleProcessCollectives>(single);
            var buffer = new float[] { 1.5f, -2f };
            single.AllReduceSum(buffer, "noop");
            Assert.Equal([1.5f, -2f], buffer);
            Assert.Equal([[7]], single.AllGather([7], "noop"));
        }
        var e = Assert.Throws<CollectivesUnavailableException>(() => Collectives.Create(new LaunchEnvironment(0, 2, 0, "RANK/WORLD_SIZE/LOCAL_RANK")));
        Assert.Contains("not started by Open MPI's mpirun", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nccl_reports_unavailable_with_the_reason_and_refuses_cpu_tensors()
    {
        string? reason = NcclCommunicator.UnavailableReason();
        using var cpu = Backend.Cpu(1);
        string? cpuReason = NcclCommunicator.UnavailableReason(cpu);
        Assert.NotNull(cpuReason); // whatever the host: NCCL never takes a CPU backend
        if (reason is null) Assert.Contains("not CUDA", cpuReason, StringComparison.Ordinal);
        else Assert.Contains("libnccl.so.2 not found (tried libnccl.so.2", reason, StringComparison.Ordinal);

        using var emulated = ConvNet.Gpu.Tests.Cuda.CudaTestBackends.CreateEmulated(); // skips when the emulator library is missing
        var e = Assert.Throws<CollectivesUnavailableException>(() => NcclCommunicator.Create(new SingleProcessCollectives(), emulated));
        Assert.StartsWith("NCCL unavailable, because ", e.Message, StringComparison.Ordinal);
    }
}
