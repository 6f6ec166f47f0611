namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// An element-wise tolerance: |actual - expected| &lt;= Atol + Rtol * |expected| (testing.md, "Comparing tensors").
/// <see cref="Exact"/> (0, 0) demands equal values; <c>-0</c> equals <c>+0</c> under it (use <see cref="TensorAssert.Equal(ReadOnlySpan{float}, ReadOnlySpan{float}, TensorShape?, string?)"/> for bit patterns).
/// </summary>
public readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>No error allowed: data movement (im2col, col2im of one contribution, pooling argmax, copies).</summary>
    public static Tolerance Exact => new(0, 0);

    /// <summary>float32 backend against the float64 reference for conv/GEMM (testing.md: 1e-4 / 1e-4).</summary>
    public static Tolerance Float32VsFloat64 => new(1e-4, 1e-4);

    /// <summary>CUDA against CPU with FP32 math, TF32 off (testing.md: 1e-5 / ~1e-5).</summary>
    public static Tolerance CudaVsCpuFp32 => new(1e-5, 1e-5);

    /// <summary>CUDA against CPU with TF32 on (PyTorch <c>tf32_on_and_off(0.01)</c>).</summary>
    public static Tolerance CudaVsCpuTf32 => new(1e-3, 1e-2);

    /// <summary>
    /// CUDA against CPU with TF32 math on sums of up to <paramref name="reductionLength"/> products of O(1) values (conv
    /// outputs and gradients): TF32 keeps 10 fraction bits, so each product carries a relative error up to 2^-10 and the
    /// sum's error grows like sqrt(n) * 2^-10 (seen: 8e-3 at n = 646, where testing.md's fixed 1e-3 fails). atol is that,
    /// at least 1e-3; rtol stays testing.md's 1e-2. An indexing error is O(1) per element and still fails.
    /// </summary>
    public static Tolerance CudaVsCpuTf32ForReduction(long reductionLength) =>
        new(Math.Max(1e-3, Math.Sqrt(reductionLength) / 1024.0), 1e-2);

    /// <summary>Whether this is the exact (0, 0) tolerance.</summary>
    public bool IsExact => Atol == 0 && Rtol == 0;

    /// <summary>This tolerance scaled by <paramref name="factor"/> (used where a reduction is long; callers say why).</summary>
    public Tolerance Times(double factor) => new(Atol * factor, Rtol * factor);

    /// <inheritdoc/>
    public override string ToString() => $"atol={Atol:G3}, rtol={Rtol:G3}";
}
