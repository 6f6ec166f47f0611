using System.Runtime.CompilerServices;
namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// The pooling windows of one geometry along each axis, resolved once per call: for output row oh the real input rows
/// [RowStart[oh], RowEnd[oh]) and the row count used by the average divisor (likewise for columns). A window's divisor
/// is RowCount[oh] * ColCount[ow]: with count_include_pad the window clipped to the padded input (PyTorch computes
/// hend = min(hstart + kH, H + padH) before clipping to the real input), otherwise the number of real elements.
/// For the backward gathers it also holds, per input row h, the window rows [RowCoverLo[h], RowCoverHi[h]] that
/// contain it (likewise per column), so no division runs per element.
/// </summary>
internal sealed class PoolWindows
{
    private PoolWindows(Pool2dGeometry g)
    {
        (RowStart, RowEnd, RowCount) = Axis(g.OH, g.H, g.KH, g.SH, g.PadH, g.CountIncludePadding);
        (ColStart, ColEnd, ColCount) = Axis(g.OW, g.W, g.KW, g.SW, g.PadW, g.CountIncludePadding);
        (RowCoverLo, RowCoverHi) = Cover(g.H, g.KH, g.SH, g.PadH, g.OH);
        (ColCoverLo, ColCoverHi) = Cover(g.W, g.KW, g.SW, g.PadW, g.OW);
        GatherColumns = g.SW < g.KW ? PoolGatherColumns.Create(g, this) : null;
    }

    /// <summary>Column plan for the SIMD backward gathers when windows overlap horizontally; null otherwise.</summary>
    public PoolGatherColumns? GatherColumns { get; }

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

    /// <summary>First window row containing input row h (H entries).</summary>
    public int[] RowCoverLo { get; }
    /// <summary>Last window row containing input row h; below RowCoverLo[h] when none does.</summary>
    public int[] RowCoverHi { get; }
    /// <summary>First window column containing input column w (W entries).</summary>
    public int[] ColCoverLo { get; }
    /// <summary>Last window column containing input column w.</summary>
    public int[] ColCoverHi { get; }

    /// <summary>Resolves the windows of <paramref name="g"/>.</summary>
    public static PoolWindows Create(Pool2dGeometry g) => new(g);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int[] Lo, int[] Hi) Cover(int inSize, int kernel, int stride, int pad, int outSize)
    {
        var lo = new int[inSize];
        var hi = new int[inSize];
        for (int i = 0; i < inSize; i++) (lo[i], hi[i]) = Covering(i, kernel, stride, pad, outSize);
        return (lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Lo, int Hi) Covering(int i, int kernel, int stride, int pad, int outSize)
    {
        int shifted = i + pad;
        int lo = shifted < kernel ? 0 : (shifted - kernel) / stride + 1;
        int hi = Math.Min(shifted / stride, outSize - 1);
        return (lo, hi);
    }
}
