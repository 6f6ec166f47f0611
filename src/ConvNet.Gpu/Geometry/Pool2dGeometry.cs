namespace ConvNet.Gpu;

/// <summary>
/// Pooling fully resolved against an input: input (N, C, H, W), output (N, C, OH, OW).
/// Window (oh, ow) covers rows [oh*SH - PadH, oh*SH - PadH + KH) and columns likewise, clipped to the input.
/// Average pooling divides by the window clipped to the padded input when <see cref="CountIncludePadding"/>,
/// otherwise by the number of real input elements in it.
/// </summary>
public sealed record Pool2dGeometry(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PadH, int PadW,
    int OH, int OW, bool CountIncludePadding)
{
    /// <summary>Input shape (N, C, H, W).</summary>
    public TensorShape InputShape => TensorShape.Nchw(N, C, H, W);
    /// <summary>Output shape (N, C, OH, OW); also the shape of the int32 argmax mask.</summary>
    public TensorShape OutputShape => TensorShape.Nchw(N, C, OH, OW);
    /// <summary>The same pooling for a batch of <paramref name="n"/> samples.</summary>
    public Pool2dGeometry WithBatch(int n) => this with { N = n };

    /// <summary>Compact description used in error messages and benchmark names.</summary>
    public override string ToString() =>
        $"pool2d(N={N}, C={C}, H={H}, W={W}, kernel={KH}x{KW}, stride=({SH},{SW}), pad=({PadH},{PadW})) -> {OH}x{OW}";
}
