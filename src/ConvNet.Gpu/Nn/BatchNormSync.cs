using ConvNet.Gpu.Distributed;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Synchronized batch normalization across data-parallel ranks (set on every <see cref="BatchNorm2D"/> of a model by
/// <c>DataParallel</c> when <c>SynchronizeBatchNorm</c> is on). Training-mode statistics are those of the whole global
/// batch, as one process would compute them:
/// <list type="bullet">
/// <item>forward: all-reduce of the per-channel sums and the element count, giving the mean; then of the per-channel
/// sums of squared deviations from that mean, giving the biased variance (two-pass, like the CPU kernel);</item>
/// <item>backward: all-reduce of sum(dy) and sum(dy * (x - mean)) per channel; dx uses the global sums, while the
/// gamma and beta gradients stay this rank's own (the gradient all-reduce adds them up like every other gradient).</item>
/// </list>
/// The reductions are the deterministic rank-ordered sums of <see cref="ICollectives"/>. The local per-channel sums
/// are float32 <c>ReduceSum</c>s, so results agree with one process to float32 rounding, not bit for bit.
/// </summary>
internal sealed class BatchNormSync(ICollectives collectives)
{
    private long _calls;

    /// <summary>Sums <paramref name="values"/> over all ranks in place.</summary>
    public void AllReduce(float[] values, string layer, string what) =>
        collectives.AllReduceSum(values, $"BatchNorm sync of {layer}: {what} (call {_calls++})");

    /// <summary>
    /// Per-channel sums of <paramref name="x"/> (N, C, rest) into <paramref name="host"/>[0..C): a reduction over rest, then over N.
    /// </summary>
    public static void ChannelSums(Layer layer, Tensor x, string key, float[] host)
    {
        int n = x.Shape[0], c = x.Shape[1];
        int rest = (int)(x.ElementCount / ((long)n * c));
        var planes = layer.Buffer(key + "_planes", TensorShape.Vector(n * c));
        var channels = layer.Buffer(key + "_channels", TensorShape.Vector(c));
        layer.Backend.ReduceSum(x, planes, n * c, rest, 1, accumulate: false);
        layer.Backend.ReduceSum(planes, channels, 1, n, c, accumulate: false);
        channels.Download(host.AsSpan(0, c));
    }
}
