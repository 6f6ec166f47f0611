namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>The scalar edge path: merges a finished tile from a stack buffer into a ragged corner of C.</summary>
internal static unsafe class TileMerge
{
    /// <summary>C[r, j] op= tile[r, j] for r &lt; rows, j &lt; cols; the tile has leading dimension <paramref name="ldt"/>.</summary>
    public static void Merge(float* tile, int ldt, float* c, int ldc, int rows, int cols, TileStore mode, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            float* src = tile + r * ldt;
            float* dst = c + (long)r * ldc;
            switch (mode)
            {
                case TileStore.Overwrite:
                    for (int j = 0; j < cols; j++) dst[j] = src[j];
                    break;
                case TileStore.Accumulate:
                    for (int j = 0; j < cols; j++) dst[j] += src[j];
                    break;
                default:
                    for (int j = 0; j < cols; j++) dst[j] = MathF.FusedMultiplyAdd(beta, dst[j], src[j]);
                    break;
            }
        }
    }
}
