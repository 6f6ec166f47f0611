namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// What a <see cref="CudaBackend"/> has asked of its device since it was created: operations queued on the device and
/// the calls that made the host wait. Take a snapshot before and after a region (<see cref="CudaBackend.Counters"/>) and
/// subtract to get that region's counts, e.g. per training step. Work recorded into a CUDA graph is not counted when it
/// is recorded; each replay counts one <see cref="GraphLaunches"/> (and its <see cref="GraphNodes"/>).
/// </summary>
/// <param name="KernelLaunches">Our kernels launched one by one (not as graph nodes).</param>
/// <param name="GemmCalls">cuBLAS SGEMM calls (plain and strided-batched) made one by one.</param>
/// <param name="Memsets">Device memsets (tensor allocation zero-fills, Fill).</param>
/// <param name="DeviceToDeviceCopies">Device-to-device copies.</param>
/// <param name="HostToDeviceCopies">Host-to-device copies, blocking and asynchronous.</param>
/// <param name="DeviceToHostCopies">Device-to-host copies, blocking and asynchronous.</param>
/// <param name="HostWaits">Calls that blocked the host until device work finished: stream synchronization, blocking copies, event waits.</param>
/// <param name="GraphLaunches">CUDA graph replays.</param>
/// <param name="GraphNodes">Nodes run by those replays (launches, GEMMs, memsets and copies recorded in the graphs).</param>
public readonly record struct CudaCounters(long KernelLaunches, long GemmCalls, long Memsets, long DeviceToDeviceCopies,
    long HostToDeviceCopies, long DeviceToHostCopies, long HostWaits, long GraphLaunches, long GraphNodes)
{
    /// <summary>Separately queued device operations: kernel launches plus GEMM calls (what costs launch latency each).</summary>
    public long Launches => KernelLaunches + GemmCalls;

    /// <summary>The counts of the region between two snapshots.</summary>
    public static CudaCounters operator -(CudaCounters after, CudaCounters before) => new(
        after.KernelLaunches - before.KernelLaunches, after.GemmCalls - before.GemmCalls, after.Memsets - before.Memsets,
        after.DeviceToDeviceCopies - before.DeviceToDeviceCopies, after.HostToDeviceCopies - before.HostToDeviceCopies,
        after.DeviceToHostCopies - before.DeviceToHostCopies, after.HostWaits - before.HostWaits,
        after.GraphLaunches - before.GraphLaunches, after.GraphNodes - before.GraphNodes);

    /// <summary>Counts divided by <paramref name="steps"/> (for per-step averages); fractions are kept in <see cref="Format"/>.</summary>
    public string Format(double steps = 1) =>
        $"launches {Per(Launches, steps)} (kernels {Per(KernelLaunches, steps)}, GEMMs {Per(GemmCalls, steps)}), " +
        $"graph launches {Per(GraphLaunches, steps)} ({Per(GraphNodes, steps)} nodes), memsets {Per(Memsets, steps)}, " +
        $"D2D {Per(DeviceToDeviceCopies, steps)}, H2D {Per(HostToDeviceCopies, steps)}, D2H {Per(DeviceToHostCopies, steps)}, " +
        $"host waits {Per(HostWaits, steps)}";

    /// <inheritdoc/>
    public override string ToString() => Format();

    private static string Per(long count, double steps) =>
        steps == 1 ? count.ToString(System.Globalization.CultureInfo.InvariantCulture)
                   : (count / steps).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
}
