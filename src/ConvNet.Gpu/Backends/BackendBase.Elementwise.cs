namespace ConvNet.Gpu;

// The Elementwise op family of IBackend: Dropout, element-wise arithmetic and reductions (CpuBackend.Elementwise.cs,
// CudaBackend.Elementwise.cs; kernels/dropout.cu, elementwise.cu, reduce.cu). Each public op checks its arguments
// (OpChecks) before any work, then calls its Core method, which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset)
    {
        using var use = _use.Enter("DropoutForward");
        CheckDropout("DropoutForward", x, y, mask, p);
        DropoutForwardCore(x, y, mask, p, seed, offset);
    }

    private void CheckDropout(string op, Tensor x, Tensor y, Tensor mask, float p)
    {
        if (!(p >= 0f && p < 1f))
            throw new ConvNetArgumentException($"{op}: dropout probability must be in [0, 1), got p={p}.", nameof(p));
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Float(this, op, "mask", mask);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.SameCount(op, "x", x, "mask", mask);
    }

    /// <summary>Dropout forward without checks.</summary>
    protected abstract void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset);

    // ------------------------------------------------------------ element-wise

    /// <inheritdoc/>
    public void Add(Tensor a, Tensor b, Tensor y) { using var use = _use.Enter("Add"); CheckBinary("Add", a, b, y); AddCore(a, b, y); }

    /// <inheritdoc/>
    public void Mul(Tensor a, Tensor b, Tensor y) { using var use = _use.Enter("Mul"); CheckBinary("Mul", a, b, y); MulCore(a, b, y); }

    /// <inheritdoc/>
    public void Scale(Tensor x, float alpha, Tensor y)
    {
        using var use = _use.Enter("Scale");
        OpChecks.Float(this, "Scale", "x", x);
        OpChecks.Float(this, "Scale", "y", y);
        OpChecks.SameCount("Scale", "x", x, "y", y);
        ScaleCore(x, alpha, y);
    }

    /// <inheritdoc/>
    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        using var use = _use.Enter("Axpy");
        OpChecks.Float(this, "Axpy", "x", x);
        OpChecks.Float(this, "Axpy", "y", y);
        OpChecks.SameCount("Axpy", "x", x, "y", y);
        AxpyCore(alpha, x, y);
    }

    /// <inheritdoc/>
    public void ChannelAffine(Tensor x, Tensor scale, Tensor? shift, Tensor y)
    {
        using var use = _use.Enter("ChannelAffine");
        const string op = "ChannelAffine";
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Rank(op, "x", x, 2, 4);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.Float(this, op, "scale", scale);
        OpChecks.Count(op, "scale", scale, x.Shape[1], $"one value per channel of x {x.Shape}");
        if (shift is not null)
        {
            OpChecks.Float(this, op, "shift", shift);
            OpChecks.Count(op, "shift", shift, x.Shape[1], $"one value per channel of x {x.Shape}");
        }
        ChannelAffineCore(x, scale, shift, y);
    }

    /// <inheritdoc/>
    public void ReduceSum(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate)
    {
        using var use = _use.Enter("ReduceSum");
        const string op = "ReduceSum";
        OpChecks.Positive(op, "outer", outer);
        OpChecks.Positive(op, "reduce", reduce);
        OpChecks.Positive(op, "inner", inner);
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Count(op, "x", x, (long)outer * reduce * inner, $"a ({outer}, {reduce}, {inner}) view");
        OpChecks.Count(op, "y", y, (long)outer * inner, $"the ({outer}, {inner}) result");
        ReduceSumCore(x, y, outer, reduce, inner, accumulate);
    }

    private void CheckBinary(string op, Tensor a, Tensor b, Tensor y)
    {
        OpChecks.Float(this, op, "a", a);
        OpChecks.Float(this, op, "b", b);
        OpChecks.Float(this, op, "y", y);
        OpChecks.SameCount(op, "a", a, "b", b);
        OpChecks.SameCount(op, "a", a, "y", y);
    }

    /// <summary>Add without checks.</summary>
    protected abstract void AddCore(Tensor a, Tensor b, Tensor y);
    /// <summary>Mul without checks.</summary>
    protected abstract void MulCore(Tensor a, Tensor b, Tensor y);
    /// <summary>Scale without checks.</summary>
    protected abstract void ScaleCore(Tensor x, float alpha, Tensor y);
    /// <summary>Axpy without checks.</summary>
    protected abstract void AxpyCore(float alpha, Tensor x, Tensor y);
    /// <summary>Channel affine without checks; x viewed as (dim0, dim1, rest).</summary>
    protected abstract void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y);
    /// <summary>Reduce-sum without checks.</summary>
    protected abstract void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate);
}
