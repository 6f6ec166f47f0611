using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Batch normalization (kernels/batchnorm.cu). Training passes are split reductions: each channel's N*H*W elements are
// cut into chunks, one block per (channel, chunk); a partials kernel, then an apply kernel that combines the channel's
// partials in chunk order (deterministic) and processes its chunk. Inference is one thread per element.
public sealed partial class CudaBackend
{
    private const int NormPartialsSlot = 4; // float64 partials, 2 per (channel, chunk)

    /// <summary>Elements per chunk: about 16 per thread of a block, so a large batch spreads each channel over many blocks.</summary>
    private long NormChunkLength(long perChannel) => Math.Max(1, Math.Min(perChannel, 16L * Options.BlockSize));

    /// <summary>(chunk length, chunks per channel) for a channel of <paramref name="perChannel"/> elements.</summary>
    private (long Length, int Chunks) NormChunks(long perChannel)
    {
        long length = NormChunkLength(perChannel);
        return (length, checked((int)((perChannel + length - 1) / length)));
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean,
        Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon)
    {
        int n = x.Shape[0], c = x.Shape[1];
        long inner = x.ElementCount / ((long)n * c);
        var (length, chunks) = NormChunks(n * inner);
        long items = (long)c * chunks;
        ulong partials = WorkspaceFloats(NormPartialsSlot, 4 * items); // 2 doubles per item

        LaunchItems(CudaKernels.BatchNormForwardPartials(Ptr(x), partials, n, c, inner, chunks, length), items);
        LaunchItems(CudaKernels.BatchNormForwardApply(Ptr(x), Ptr(gamma), Ptr(beta), Ptr(y), partials, Ptr(saveMean), Ptr(saveInvStd),
            Ptr(runningMean), Ptr(runningVar), n, c, inner, chunks, length, momentum, epsilon), items);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y)
    {
        int n = x.Shape[0], c = x.Shape[1];
        long inner = x.ElementCount / ((long)n * c);
        LaunchElements(CudaKernels.BatchNormForwardInference(Ptr(x), Ptr(gamma), Ptr(beta), Ptr(runningMean), Ptr(runningVar), Ptr(y),
            x.ElementCount, c, inner, FastDivisor.Magic(checked((int)inner)), FastDivisor.Magic(c), epsilon), x.ElementCount);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate)
    {
        int n = x.Shape[0], c = x.Shape[1];
        long inner = x.ElementCount / ((long)n * c);
        var (length, chunks) = NormChunks(n * inner);
        long items = (long)c * chunks;
        ulong partials = WorkspaceFloats(NormPartialsSlot, 4 * items);

        LaunchItems(CudaKernels.BatchNormBackwardPartials(Ptr(x), Ptr(gradY), Ptr(saveMean), partials, n, c, inner, chunks, length), items);
        LaunchItems(CudaKernels.BatchNormBackwardApply(Ptr(x), Ptr(gradY), Ptr(gamma), Ptr(saveMean), Ptr(saveInvStd), Ptr(gradX),
            Ptr(gradGamma), Ptr(gradBeta), partials, n, c, inner, chunks, length, accumulate ? 1 : 0), items);
    }
}
