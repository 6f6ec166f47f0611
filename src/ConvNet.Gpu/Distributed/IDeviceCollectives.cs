namespace ConvNet.Gpu.Distributed;

/// <summary>
/// All-reduce of tensors in the memory of the model's own backend (device pointers, no host copies), queued on the
/// backend's stream: what NCCL does for CUDA tensors (<see cref="Nccl.NcclCommunicator"/>). Data-parallel training
/// uses it for the gradient buckets when given one; the host-side <see cref="ICollectives"/> still bootstraps,
/// checks the start-up fingerprint and agrees on stopping.
/// </summary>
public interface IDeviceCollectives
{
    /// <summary>This rank.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>The engine, for logs.</summary>
    string Description { get; }

    /// <summary>Queues an in-place sum of the float32 <paramref name="tensor"/> over all ranks; does not wait.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>Waits for the queued sums (and the stream's earlier work), or fails at the deadline naming the operation.</summary>
    /// <exception cref="CollectiveTimeoutException">The deadline passed.</exception>
    void Synchronize();
}
