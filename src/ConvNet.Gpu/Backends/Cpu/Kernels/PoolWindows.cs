namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// The pooling windows of one geometry along each axis, resolved once per call: for output row oh the real input rows
/// [RowStart[oh], RowEnd[oh]) and the row count used by the average divisor (likewise for columns). A window's divisor
/// is RowCount[oh] * ColCount[ow]: with count_include_pad the window clipped to the padded input (PyTorch computes
/// hend = min(hstart + kH, H + padH) before clipping to the real input), otherwise the number of real elements.
/// </summary>
internal sealed class PoolWindows
{
    private PoolWindows(int[] rowStart, int[] rowEnd, int[] rowCount, int[] colStart, int[] colEnd, int[] colCount)
    {
        RowStart = rowStart; RowEnd = rowEnd; RowCount = rowCount;
        ColStart = colStart; ColEnd = colEnd; ColCount = colCount;
    }

    /// <summary>First real input row of window row oh (OH entries).</summary>
    public int[] RowStart { get; }
    /// <summary>One past the last real input row of window row oh.</summary>
    public int[] RowEnd { get; }
    /// <summary>Rows counted by the average divisor for window row oh.</summary>
    public int[] RowCount { get; }
    /// <summary>First real input column of window column ow (OW entries).</summary>
    public int[] ColStart { get; }
    /// <summary>One past the last real input column of window column ow.</summary>
    public int[] ColEnd { get; }
    /// <summary>Columns counted by the average divisor for window column ow.</summary>
    public int[] ColCount { get; }

    /// <summary>Resolves the windows of <paramref name="g"/>.</summary>
    public static PoolWindows Create(Pool2dGeometry g)
    {
        var (rs, re, rc) = Axis(g.OH, g.H, g.KH, g.SH, g.PadH, g.CountIncludePadding);
        var (cs, ce, cc) = Axis(g.OW, g.W, g.KW, g.SW, g.PadW, g.CountIncludePadding);
        return new PoolWindows(rs, re, rc, cs, ce, cc);
    }

    private static (int[] Start, int[] End, int[] Count) Axis(int outSize, int inSize, int kernel, int stride, int pad, bool includePad)
    {
        var start = new int[outSize];
        var end = new int[outSize];
        var count = new int[outSize];
        for (int o = 0; o < outSize; o++)
        {
            int s = o * stride - pad;
            int ePadded = Math.Min(s + kernel, inSize + pad);
            int sReal = Math.Max(s, 0), eReal = Math.Min(ePadded, inSize);
            start[o] = sReal;
            end[o] = eReal;
            count[o] = includePad ? ePadded - s : eReal - sReal;
        }
        return (start, end, count);
    }

    /// <summary>
    /// The output indices o whose windows contain input index <paramref name="i"/>: o in [lo, hi], empty when lo &gt; hi.
    /// Window o covers [o*stride - pad, o*stride - pad + kernel).
    /// </summary>
    public static (int Lo, int Hi) Covering(int i, int kernel, int stride, int pad, int outSize)
    {
        int shifted = i + pad;
        int lo = shifted < kernel ? 0 : (shifted - kernel) / stride + 1;
        int hi = Math.Min(shifted / stride, outSize - 1);
        return (lo, hi);
    }
}
