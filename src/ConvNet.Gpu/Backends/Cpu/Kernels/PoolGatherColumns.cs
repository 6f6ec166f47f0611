namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Column plan for the SIMD backward gathers over overlapping pooling windows, eight input columns per block.
/// Input column w is covered by window columns ColCoverLo[w] + j for slots j &lt; <see cref="Slots"/>; slot j's window
/// index is Index[j*W + w], or -1 where column w has fewer windows. A block of columns [w0, w0 + 8) is vectorizable
/// when every window it needs lies in [Base, Base + 8) of one output row (Base + 8 &lt;= OW), so one 8-wide load plus
/// a lane shuffle fetches every slot. Blocks start at multiples of 8; the last one is shifted left to end at W.
/// </summary>
internal sealed class PoolGatherColumns
{
    private PoolGatherColumns(int slots, int[] index, int[] blockStart, int[] blockBase)
    {
        Slots = slots; Index = index; BlockStart = blockStart; BlockBase = blockBase;
    }

    /// <summary>Most windows covering one input column: ceil(KW / SW).</summary>
    public int Slots { get; }
    /// <summary>Window column of slot j for input column w at [j*W + w]; -1 when absent.</summary>
    public int[] Index { get; }
    /// <summary>First input column of each block.</summary>
    public int[] BlockStart { get; }
    /// <summary>First window column loaded for each block, or -1 when the block must run scalar.</summary>
    public int[] BlockBase { get; }

    /// <summary>Builds the plan for <paramref name="g"/>; null when W &lt; 8 (no full block).</summary>
    public static PoolGatherColumns? Create(Pool2dGeometry g, PoolWindows win)
    {
        int w = g.W, oW = g.OW;
        if (w < 8 || oW < 8) return null;
        int slots = (g.KW + g.SW - 1) / g.SW;
        var index = new int[slots * w];
        for (int c = 0; c < w; c++)
            for (int j = 0; j < slots; j++)
            {
                int ow = win.ColCoverLo[c] + j;
                index[j * w + c] = ow <= win.ColCoverHi[c] ? ow : -1;
            }

        int blocks = (w + 7) / 8;
        var start = new int[blocks];
        var bases = new int[blocks];
        for (int b = 0; b < blocks; b++)
        {
            int w0 = Math.Min(b * 8, w - 8);
            start[b] = w0;
            int lo = int.MaxValue, hi = -1;
            for (int c = w0; c < w0 + 8; c++)
                for (int j = 0; j < slots; j++)
                {
                    int ow = index[j * w + c];
                    if (ow < 0) continue;
                    lo = Math.Min(lo, ow);
                    hi = Math.Max(hi, ow);
                }
            // Load 8 window columns from bse; near the right edge shift the load left so it stays inside the row.
            int bse = Math.Min(hi < 0 ? win.ColCoverLo[w0] : lo, oW - 8);
            bases[b] = bse >= 0 && hi - bse < 8 ? bse : -1;
        }
        return new PoolGatherColumns(slots, index, start, bases);
    }
}
