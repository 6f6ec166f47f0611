using System.Numerics.Tensors;
using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Columns of one ReduceSum work item: a float64 accumulator block that fits on the stack.</summary>
    private const int ReduceColumnBlock = 512;

    private static ReadOnlySpan<float> In(float* p, int start, int end) => new(p + start, end - start);

    private static Span<float> Out(float* p, int start, int end) => new(p + start, end - start);

    /// <inheritdoc/>
    protected override void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset)
    {
        float* px = Ptr(x), py = Ptr(y), pm = Ptr(mask);
        CpuParallel.ForElements(this, (int)x.ElementCount, (s, e) => ElementwiseKernels.Dropout(px, py, pm, s, e, p, seed, offset));
    }

    /// <inheritdoc/>
    protected override void AddCore(Tensor a, Tensor b, Tensor y)
    {
        float* pa = Ptr(a), pb = Ptr(b), py = Ptr(y);
        CpuParallel.ForElements(this, (int)a.ElementCount, (s, e) => TensorPrimitives.Add(In(pa, s, e), In(pb, s, e), Out(py, s, e)));
    }

    /// <inheritdoc/>
    protected override void MulCore(Tensor a, Tensor b, Tensor y)
    {
        float* pa = Ptr(a), pb = Ptr(b), py = Ptr(y);
        CpuParallel.ForElements(this, (int)a.ElementCount, (s, e) => TensorPrimitives.Multiply(In(pa, s, e), In(pb, s, e), Out(py, s, e)));
    }

    /// <inheritdoc/>
    protected override void ScaleCore(Tensor x, float alpha, Tensor y)
    {
        float* px = Ptr(x), py = Ptr(y);
        CpuParallel.ForElements(this, (int)x.ElementCount, (s, e) => TensorPrimitives.Multiply(In(px, s, e), alpha, Out(py, s, e)));
    }

    /// <inheritdoc/>
    protected override void AxpyCore(float alpha, Tensor x, Tensor y)
    {
        float* px = Ptr(x), py = Ptr(y);
        CpuParallel.ForElements(this, (int)x.ElementCount,
            (s, e) => TensorPrimitives.MultiplyAdd(In(px, s, e), alpha, In(py, s, e), Out(py, s, e)));
    }

    /// <inheritdoc/>
    protected override void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y)
    {
        int n = x.Shape[0], c = x.Shape[1];
        int rest = (int)(x.ElementCount / ((long)n * c));
        float* px = Ptr(x), py = Ptr(y), ps = Ptr(scale);
        float* pt = shift is null ? null : Ptr(shift);
        if (rest == 1)
        {
            // (N, C): each row is one vector of channels.
            CpuParallel.For(this, n, c, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    var xs = In(px, r * c, (r + 1) * c);
                    var ys = Out(py, r * c, (r + 1) * c);
                    var ss = In(ps, 0, c);
                    if (pt is null) TensorPrimitives.Multiply(xs, ss, ys);
                    else TensorPrimitives.MultiplyAdd(xs, ss, In(pt, 0, c), ys);
                }
            });
            return;
        }

        // (N, C, rest): plane p = n*C + c is a contiguous run of rest elements sharing one scale and shift.
        CpuParallel.For(this, n * c, rest, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                long o = (long)p * rest;
                int ch = p % c;
                if (pt is null) TensorPrimitives.Multiply(new ReadOnlySpan<float>(px + o, rest), ps[ch], new Span<float>(py + o, rest));
                else ElementwiseKernels.ScaleShift(px + o, ps[ch], pt[ch], py + o, rest);
            }
        });
    }

    /// <inheritdoc/>
    protected override void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate)
    {
        float* px = Ptr(x), py = Ptr(y);
        if (inner == 1)
        {
            CpuParallel.For(this, outer, reduce, (o0, o1) =>
            {
                for (int o = o0; o < o1; o++)
                {
                    double s = Reductions.Sum(px + (long)o * reduce, reduce);
                    py[o] = accumulate ? (float)(py[o] + s) : (float)s;
                }
            });
            return;
        }

        // Work item = (o, block of up to ReduceColumnBlock columns); each output element is summed by one thread
        // in r order, in float64, so the result does not depend on the split.
        int blocks = (inner + ReduceColumnBlock - 1) / ReduceColumnBlock;
        CpuParallel.For(this, outer * blocks, (long)reduce * Math.Min(inner, ReduceColumnBlock), (w0, w1) =>
        {
            double* acc = stackalloc double[ReduceColumnBlock];
            for (int w = w0; w < w1; w++)
            {
                int o = w / blocks, i0 = (w % blocks) * ReduceColumnBlock;
                int len = Math.Min(ReduceColumnBlock, inner - i0);
                new Span<double>(acc, len).Clear();
                Reductions.AddRows(px + (long)o * reduce * inner + i0, reduce, inner, len, acc);
                float* dst = py + (long)o * inner + i0;
                for (int i = 0; i < len; i++) dst[i] = accumulate ? (float)(dst[i] + acc[i]) : (float)acc[i];
            }
        });
    }
}
