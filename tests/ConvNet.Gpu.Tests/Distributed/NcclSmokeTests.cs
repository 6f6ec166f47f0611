using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Distributed.Nccl;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// NCCL on a GPU host: a 1-rank communicator all-reduces device memory in place on the backend's stream (for one
/// rank the sum is the input, bit for bit), twice, then tears down. Skips with NCCL's or CUDA's reason elsewhere.
/// </summary>
public sealed class NcclSmokeTests
{
    [Fact]
    public void One_rank_all_reduce_on_device_memory()
    {
        if (NcclCommunicator.UnavailableReason() is string reason) Assert.Skip($"NCCL unavailable, because {reason}");
        var cuda = Backend.QueryCuda();
        if (!cuda.IsAvailable) Assert.Skip($"no CUDA GPU: {cuda.Reason}");
        using var backend = Backend.Cuda(0);
        using var nccl = NcclCommunicator.Create(new SingleProcessCollectives(), backend);
        var values = Enumerable.Range(0, 1 << 20).Select(i => (float)Math.Sin(i) * 3f).ToArray();
        using var tensor = backend.Allocate(TensorShape.Vector(values.Length));
        tensor.Upload(values);
        nccl.AllReduceSum(tensor);
        nccl.AllReduceSum(tensor);
        nccl.Synchronize();
        var result = tensor.ToArray();
        for (int i = 0; i < values.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(values[i]) == BitConverter.SingleToInt32Bits(result[i]), $"element {i}: {result[i]:R} vs {values[i]:R}");
        Assert.Contains("rank 0 of 1", nccl.Description, StringComparison.Ordinal);
    }
}
