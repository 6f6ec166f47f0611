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
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.AddPointer(Ptr(mask)); args.Add(n);
        args.Add(p); args.Add(1f / (1f - p)); args.Add(seed); args.Add(offset);
        LaunchElements(KernelNames.DropoutForward, n, args);
    }

    /// <inheritdoc/>
    protected override void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, Tensor seedAndOffset)
    {
        long n = x.ElementCount;
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.AddPointer(Ptr(mask)); args.Add(n);
        args.Add(p); args.Add(1f / (1f - p)); args.AddPointer(Ptr(seedAndOffset));
        LaunchElements(KernelNames.DropoutForwardDevice, n, args);
    }

    /// <inheritdoc/>
    protected override void AddCore(Tensor a, Tensor b, Tensor y) => LaunchBinary(KernelNames.Add, a, b, y);

    /// <inheritdoc/>
    protected override void MulCore(Tensor a, Tensor b, Tensor y) => LaunchBinary(KernelNames.Mul, a, b, y);

    /// <inheritdoc/>
    protected override void ScaleCore(Tensor x, float alpha, Tensor y)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(x.ElementCount); args.Add(alpha);
        LaunchElements(KernelNames.Scale, x.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void AxpyCore(float alpha, Tensor x, Tensor y)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(x.ElementCount); args.Add(alpha);
        LaunchElements(KernelNames.Axpy, x.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y)
    {
        int c = x.Shape[1];
        long inner = x.ElementCount / ((long)x.Shape[0] * c);
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(scale)); args.AddPointer(Ptr(shift ?? scale)); args.AddPointer(Ptr(y));
        args.Add(x.ElementCount); args.Add(c); args.Add(inner); args.Add(FastDivisor.Magic(checked((int)inner))); args.Add(FastDivisor.Magic(c));
        args.Add(shift is null ? 0 : 1);
        LaunchElements(KernelNames.ChannelAffine, x.ElementCount, args);
    }

    /// <inheritdoc/>
    protected override void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate)
    {
        long outputs = (long)outer * inner;
        var args = new KernelArgs();
        args.AddPointer(Ptr(x)); args.AddPointer(Ptr(y)); args.Add(outputs); args.Add(reduce); args.Add((long)inner);
        args.Add(accumulate ? 1 : 0);
        if (reduce <= SerialReduceLimit) LaunchElements(KernelNames.ReduceSumSerial, outputs, args);
        else LaunchItems(KernelNames.ReduceSumBlock, outputs, args);
    }

    private void LaunchBinary(string kernel, Tensor a, Tensor b, Tensor y)
    {
        var args = new KernelArgs();
        args.AddPointer(Ptr(a)); args.AddPointer(Ptr(b)); args.AddPointer(Ptr(y)); args.Add(a.ElementCount);
        LaunchElements(kernel, a.ElementCount, args);
    }
}
