namespace ConvNet.Gpu;

/// <summary>
/// Hyper-parameters of 2-D max or average pooling. Stride defaults to the kernel size.
/// Padding is symmetric and at most half the kernel; ceil mode lets the last window start inside
/// the padded input even when it runs past it (PyTorch semantics: a window must start inside
/// the input or its left padding).
/// </summary>
public sealed record Pool2dSpec
{
    /// <summary>Creates a pooling specification.</summary>
    public Pool2dSpec(int kernelH, int kernelW, int? strideH = null, int? strideW = null, int padH = 0, int padW = 0,
        bool ceilMode = false, bool countIncludePadding = true)
    {
        int sh = strideH ?? kernelH, sw = strideW ?? kernelW;
        if (kernelH <= 0 || kernelW <= 0)
            throw new InvalidGeometryException($"pooling kernel size must be positive, got kernel=({kernelH}, {kernelW}).");
        if (sh <= 0 || sw <= 0)
            throw new InvalidGeometryException($"pooling stride should be greater than zero, got stride=({sh}, {sw}).");
        if (padH < 0 || padW < 0)
            throw new InvalidGeometryException($"negative padding is not supported: got pooling padding=({padH}, {padW}).");
        if (padH > kernelH / 2 || padW > kernelW / 2)
            throw new InvalidGeometryException(
                $"pad should be at most half of kernel size, but got pad=({padH}, {padW}) and kernel_size=({kernelH}, {kernelW}).");
        KernelH = kernelH; KernelW = kernelW; StrideH = sh; StrideW = sw; PadH = padH; PadW = padW;
        CeilMode = ceilMode; CountIncludePadding = countIncludePadding;
    }

    /// <summary>A square window with uniform stride (default: the kernel) and padding.</summary>
    public static Pool2dSpec Square(int kernel, int? stride = null, int padding = 0, bool ceilMode = false) =>
        new(kernel, kernel, stride, stride, padding, padding, ceilMode);

    /// <summary>Window height.</summary>
    public int KernelH { get; }
    /// <summary>Window width.</summary>
    public int KernelW { get; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; }
    /// <summary>Rows of padding above and below.</summary>
    public int PadH { get; }
    /// <summary>Columns of padding left and right.</summary>
    public int PadW { get; }
    /// <summary>Round the output size up instead of down.</summary>
    public bool CeilMode { get; }
    /// <summary>Average pooling divides by the window size including padding (PyTorch's default) rather than by the valid count.</summary>
    public bool CountIncludePadding { get; }

    /// <summary>Checks the specification against an NCHW input and returns the full geometry.</summary>
    public Pool2dGeometry Resolve(TensorShape input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4)
            throw new ShapeMismatchException($"Expected 4-dimensional input (N, C, H, W) for pool2d, but got {input.Rank}-dimensional input of size {input} instead.");
        int oh = OutputSize(input[2], KernelH, StrideH, PadH, CeilMode);
        int ow = OutputSize(input[3], KernelW, StrideW, PadW, CeilMode);
        if (oh < 1 || ow < 1)
            throw new InvalidGeometryException(
                $"Given input size ({input[2]} x {input[3]}) with padding ({PadH}, {PadW}), the pooling kernel ({KernelH} x {KernelW}) " +
                $"with stride ({StrideH}, {StrideW}) gives output size ({oh} x {ow}), which is too small (input {input}).");
        return new Pool2dGeometry(input[0], input[1], input[2], input[3], KernelH, KernelW, StrideH, StrideW, PadH, PadW, oh, ow,
            CountIncludePadding);
    }

    /// <summary>Output size of one axis (0 when the window does not fit), shared with <see cref="GeometryConsistency"/>.</summary>
    internal static int OutputSize(int x, int k, int s, int p, bool ceilMode)
    {
        int span = x + 2 * p - k;
        if (span < 0) return 0;
        int o = (ceilMode ? (span + s - 1) / s : span / s) + 1;
        // A window must start inside the input or its left padding.
        if (ceilMode && (o - 1) * s >= x + p) o--;
        return o;
    }
}
