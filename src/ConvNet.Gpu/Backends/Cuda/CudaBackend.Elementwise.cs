using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Dropout, element-wise arithmetic and reductions (kernels/dropout.cu, elementwise.cu, reduce.cu).
public sealed partial class CudaBackend
{
    /// <summary>Reductions up to this length run one thread per output (serial, coalesced); longer ones one block per output.</summary>
    private const int SerialReduceLimit = 64;

    /// <inheritdoc/>
    protected override void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset)
    {
        long n = x.ElementCount;
        LaunchElements(CudaKernels.DropoutForward(Ptr(x), Ptr(y), Ptr(mask), n, p, 1f / (1f - p), seed, offset), n);
    }

    /// <inheritdoc/>
    protected override void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, Tensor seedAndOffset)
    {
        long n = x.ElementCount;
        LaunchElements(CudaKernels.DropoutForwardDevice(Ptr(x), Ptr(y), Ptr(mask), n, p, 1f / (1f - p), Ptr(seedAndOffset)), n);
    }

    /// <inheritdoc/>
    protected override void AddCore(Tensor a, Tensor b, Tensor y) =>
        LaunchElements(CudaKernels.Add(Ptr(a), Ptr(b), Ptr(y), a.ElementCount), a.ElementCount);

    /// <inheritdoc/>
    protected override void MulCore(Tensor a, Tensor b, Tensor y) =>
        LaunchElements(CudaKernels.Mul(Ptr(a), Ptr(b), Ptr(y), a.ElementCount), a.ElementCount);

    /// <inheritdoc/>
    protected override void ScaleCore(Tensor x, float alpha, Tensor y) =>
        LaunchElements(CudaKernels.Scale(Ptr(x), Ptr(y), x.ElementCount, alpha), x.ElementCount);

    /// <inheritdoc/>
    protected override void AxpyCore(float alpha, Tensor x, Tensor y) =>
        LaunchElements(CudaKernels.Axpy(Ptr(x), Ptr(y), x.ElementCount, alpha), x.ElementCount);

    /// <inheritdoc/>
    protected override void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y)
    {
        int c = x.Shape[1];
        long inner = x.ElementCount / ((long)x.Shape[0] * c);
        LaunchElements(CudaKernels.ChannelAffine(Ptr(x), Ptr(scale), Ptr(shift ?? scale), Ptr(y), x.ElementCount, c, inner,
            FastDivisor.Magic(checked((int)inner)), FastDivisor.Magic(c), shift is null ? 0 : 1), x.ElementCount);
    }

    /// <inheritdoc/>
    protected override void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate)
    {
        long outputs = (long)outer * inner;
        if (reduce <= SerialReduceLimit)
            LaunchElements(CudaKernels.ReduceSumSerial(Ptr(x), Ptr(y), outputs, reduce, inner, accumulate ? 1 : 0), outputs);
        else LaunchItems(CudaKernels.ReduceSumBlock(Ptr(x), Ptr(y), outputs, reduce, inner, accumulate ? 1 : 0), outputs);
    }
}
