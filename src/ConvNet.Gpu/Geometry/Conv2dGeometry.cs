namespace ConvNet.Gpu;

/// <summary>
/// A convolution fully resolved against an input: every size a kernel needs. Produced by
/// <see cref="Conv2dSpec.Resolve"/>, which has already validated it.
/// Tensors: input (N, C, H, W), weight (K, C/G, KH, KW), bias (K), output (N, K, OH, OW),
/// im2col columns (N, C*KH*KW, OH*OW) with rows ordered (c, kh, kw) so group g owns a contiguous block of rows.
/// </summary>
public sealed record Conv2dGeometry(
    int N, int C, int H, int W, int K,
    int KH, int KW, int SH, int SW,
    int PadTop, int PadBottom, int PadLeft, int PadRight,
    int DH, int DW, int Groups, int OH, int OW)
{
    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int KPerGroup => K / Groups;
    /// <summary>Rows of one sample's im2col matrix: C*KH*KW.</summary>
    public int ColumnRows => C * KH * KW;
    /// <summary>Rows of the im2col block for one group: C/G*KH*KW (the GEMM reduction length).</summary>
    public int ColumnRowsPerGroup => CPerGroup * KH * KW;
    /// <summary>Output pixels per channel: OH*OW.</summary>
    public int OutputPlane => OH * OW;
    /// <summary>Input pixels per channel: H*W.</summary>
    public int InputPlane => H * W;

    /// <summary>Input shape (N, C, H, W).</summary>
    public TensorShape InputShape => TensorShape.Nchw(N, C, H, W);
    /// <summary>Output shape (N, K, OH, OW).</summary>
    public TensorShape OutputShape => TensorShape.Nchw(N, K, OH, OW);
    /// <summary>Weight shape (K, C/G, KH, KW).</summary>
    public TensorShape WeightShape => new([K, CPerGroup, KH, KW], ["K", "C/g", "KH", "KW"]);
    /// <summary>Bias shape (K).</summary>
    public TensorShape BiasShape => TensorShape.Vector(K);
    /// <summary>im2col shape (N, C*KH*KW, OH*OW).</summary>
    public TensorShape ColumnsShape => new([N, ColumnRows, OutputPlane], ["N", "C*KH*KW", "OH*OW"]);

    /// <summary>Multiply-adds of one forward pass (each is 2 FLOPs): N*K*OH*OW*(C/G)*KH*KW.</summary>
    public long MacCount => (long)N * K * OH * OW * CPerGroup * KH * KW;

    /// <summary>The same convolution for a batch of <paramref name="n"/> samples.</summary>
    public Conv2dGeometry WithBatch(int n) => this with { N = n };

    /// <summary>Compact description used in error messages and benchmark names.</summary>
    public override string ToString() =>
        $"conv2d(N={N}, C={C}, H={H}, W={W}, K={K}, kernel={KH}x{KW}, stride=({SH},{SW}), pad=(t{PadTop},b{PadBottom},l{PadLeft},r{PadRight}), dilation=({DH},{DW}), groups={Groups}) -> {OH}x{OW}";
}
