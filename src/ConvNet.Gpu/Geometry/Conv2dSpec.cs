namespace ConvNet.Gpu;

/// <summary>
/// Hyper-parameters of a 2-D convolution, independent of the input size: kernel, stride, padding,
/// dilation and groups. <see cref="Resolve"/> checks them against an input shape and gives the
/// <see cref="Conv2dGeometry"/> that every backend op takes. Construction rejects non-positive
/// values with an <see cref="InvalidGeometryException"/> that names them.
/// </summary>
public sealed record Conv2dSpec
{
    /// <summary>Creates a specification; stride and dilation default to 1, padding to valid, groups to 1.</summary>
    public Conv2dSpec(int kernelH, int kernelW, int strideH = 1, int strideW = 1, Padding2d? padding = null,
        int dilationH = 1, int dilationW = 1, int groups = 1)
    {
        if (kernelH <= 0 || kernelW <= 0)
            throw new InvalidGeometryException($"kernel size must be positive, got kernel=({kernelH}, {kernelW}).");
        if (strideH <= 0 || strideW <= 0)
            throw new InvalidGeometryException($"non-positive stride is not supported: got stride=({strideH}, {strideW}).");
        if (dilationH <= 0 || dilationW <= 0)
            throw new InvalidGeometryException($"dilation should be greater than zero: got dilation=({dilationH}, {dilationW}).");
        if (groups <= 0)
            throw new InvalidGeometryException($"non-positive groups is not supported: got groups={groups}.");
        KernelH = kernelH; KernelW = kernelW; StrideH = strideH; StrideW = strideW;
        Padding = padding ?? Padding2d.Valid;
        DilationH = dilationH; DilationW = dilationW; Groups = groups;
    }

    /// <summary>A square kernel with uniform stride, symmetric padding and dilation.</summary>
    public static Conv2dSpec Square(int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        new(kernel, kernel, stride, stride, Padding2d.Symmetric(padding), dilation, dilation, groups);

    /// <summary>Kernel height.</summary>
    public int KernelH { get; }
    /// <summary>Kernel width.</summary>
    public int KernelW { get; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }
    /// <summary>Padding mode or explicit amounts.</summary>
    public Padding2d Padding { get; }
    /// <summary>Vertical dilation (1 = dense kernel).</summary>
    public int DilationH { get; }
    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; }
    /// <summary>Number of channel groups (1 = dense, C = depthwise).</summary>
    public int Groups { get; }

    /// <summary>Effective kernel height k + (k-1)(d-1).</summary>
    public int EffectiveKernelH => EffectiveKernel(KernelH, DilationH);
    /// <summary>Effective kernel width k + (k-1)(d-1).</summary>
    public int EffectiveKernelW => EffectiveKernel(KernelW, DilationW);

    /// <summary>Shape of the weight tensor: (K, C/groups, KH, KW).</summary>
    public TensorShape WeightShape(int inChannels, int outChannels) =>
        new([outChannels, inChannels / Groups, KernelH, KernelW], ["K", "C/g", "KH", "KW"]);

    /// <summary>
    /// Checks this specification against an NCHW input and an output-channel count and returns the full geometry.
    /// Output size per axis: o = floor((x + pBefore + pAfter - k - (k-1)(d-1)) / s) + 1.
    /// </summary>
    public Conv2dGeometry Resolve(TensorShape input, int outChannels)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4)
            throw new ShapeMismatchException($"Expected 4-dimensional input (N, C, H, W) for conv2d, but got {input.Rank}-dimensional input of size {input} instead.");
        int n = input[0], c = input[1], h = input[2], w = input[3];
        if (outChannels <= 0)
            throw new InvalidGeometryException($"conv2d needs at least one output channel, got outChannels={outChannels}.");
        if (c % Groups != 0)
            throw new InvalidGeometryException($"Given groups={Groups}, expected input channels C={c} to be divisible by groups (input {input}).");
        if (outChannels % Groups != 0)
            throw new InvalidGeometryException($"Given groups={Groups}, expected output channels K={outChannels} to be divisible by groups.");
        var (pt, pb) = PadAxis(h, KernelH, StrideH, DilationH, Padding.Top, Padding.Bottom);
        var (pl, pr) = PadAxis(w, KernelW, StrideW, DilationW, Padding.Left, Padding.Right);
        int ph = h + pt + pb, pw = w + pl + pr;
        if (ph < EffectiveKernelH || pw < EffectiveKernelW)
            throw new InvalidGeometryException(
                $"Calculated padded input size per channel: ({ph} x {pw}). Effective kernel size: ({EffectiveKernelH} x {EffectiveKernelW}) " +
                $"(kernel ({KernelH} x {KernelW}), dilation ({DilationH}, {DilationW})). Kernel size can't be greater than actual input size " +
                $"(input {input}, padding {Padding}).");
        int oh = OutputSize(ph, EffectiveKernelH, StrideH);
        int ow = OutputSize(pw, EffectiveKernelW, StrideW);
        return new Conv2dGeometry(n, c, h, w, outChannels, KernelH, KernelW, StrideH, StrideW,
            pt, pb, pl, pr, DilationH, DilationW, Groups, oh, ow);
    }

    private (int Before, int After) PadAxis(int x, int k, int s, int d, int explicitBefore, int explicitAfter)
    {
        int keff = EffectiveKernel(k, d);
        switch (Padding.Mode)
        {
            case PaddingMode.Valid: return (0, 0);
            case PaddingMode.Full: return (keff - 1, keff - 1);
            case PaddingMode.Same:
            {
                int o = (x + s - 1) / s;
                int total = Math.Max((o - 1) * s + keff - x, 0);
                return (total / 2, total - total / 2);
            }
            default: return (explicitBefore, explicitAfter);
        }
    }

    /// <summary>k + (k-1)(d-1): the extent of a dilated kernel.</summary>
    internal static int EffectiveKernel(int k, int d) => k + (k - 1) * (d - 1);

    /// <summary>floor((padded - effectiveKernel) / stride) + 1, or 0 when the kernel does not fit; shared with <see cref="GeometryConsistency"/>.</summary>
    internal static int OutputSize(int paddedInput, int effectiveKernel, int stride) =>
        paddedInput < effectiveKernel ? 0 : (paddedInput - effectiveKernel) / stride + 1;
}
