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

        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(partials); args.Add(n); args.Add(c); args.Add(inner); args.Add(chunks); args.Add(length);
        LaunchItems(KernelNames.BatchNormForwardPartials, items, args);

        args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(beta)); args.AddPointer(Ptr(y)); args.AddPointer(partials);
        args.AddPointer(Ptr(saveMean)); args.AddPointer(Ptr(saveInvStd)); args.AddPointer(Ptr(runningMean)); args.AddPointer(Ptr(runningVar));
        args.Add(n); args.Add(c); args.Add(inner); args.Add(chunks); args.Add(length); args.Add(momentum); args.Add(epsilon);
        LaunchItems(KernelNames.BatchNormForwardApply, items, args);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y)
    {
        int n = x.Shape[0], c = x.Shape[1];
        long inner = x.ElementCount / ((long)n * c);
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(beta));
        args.AddPointer(Ptr(runningMean)); args.AddPointer(Ptr(runningVar)); args.AddPointer(Ptr(y));
        args.Add(x.ElementCount); args.Add(c); args.Add(inner); args.Add(FastDivisor.Magic(checked((int)inner))); args.Add(FastDivisor.Magic(c));
        args.Add(epsilon);
        LaunchElements(KernelNames.BatchNormForwardInference, x.ElementCount, args);
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

        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(saveMean)); args.AddPointer(partials);
        args.Add(n); args.Add(c); args.Add(inner); args.Add(chunks); args.Add(length);
        LaunchItems(KernelNames.BatchNormBackwardPartials, items, args);

        args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(gradY)); args.AddPointer(Ptr(gamma)); args.AddPointer(Ptr(saveMean));
        args.AddPointer(Ptr(saveInvStd)); args.AddPointer(Ptr(gradX)); args.AddPointer(Ptr(gradGamma)); args.AddPointer(Ptr(gradBeta));
        args.AddPointer(partials); args.Add(n); args.Add(c); args.Add(inner); args.Add(chunks); args.Add(length); args.Add(accumulate ? 1 : 0);
        LaunchItems(KernelNames.BatchNormBackwardApply, items, args);
    }
}
