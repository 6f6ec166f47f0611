using System.Runtime.Intrinsics;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// Fallback micro-kernel for CPUs without AVX2+FMA (e.g. Arm64): a 4 x 8 tile with Vector128 multiply and add.
/// Correct everywhere, fast nowhere; x64 machines with AVX2 or AVX-512 never use it outside tests.
/// </summary>
internal readonly unsafe struct PortableKernel : ISgemmKernel
{
    /// <summary>Rows of C per tile.</summary>
    public static int MR => 4;
    /// <summary>Columns of C per tile (two Vector128).</summary>
    public static int NR => 8;
    /// <summary>Reduction depth of one packed block.</summary>
    public static int KC => 256;
    /// <summary>Rows of A per packed block.</summary>
    public static int MC => 128;
    /// <summary>Columns of B per packed block.</summary>
    public static int NC => 1024;
    /// <summary>Always true.</summary>
    public static bool IsSupported => true;

    /// <summary>C tile op= packed A panel (kc x 4) times packed B panel (kc x 8).</summary>
    public static void Tile(int mr, int nr, int kc, float* a, float* b, float* c, int ldc, TileStore mode, float beta, float* t)
    {
        // Accumulators in the scratch tile: row r, half h at acc[2r + h].
        var acc = (Vector128<float>*)t;
        for (int i = 0; i < 8; i++) acc[i] = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            for (int r = 0; r < mr; r++)
            {
                var ar = Vector128.Create(a[r]);
                acc[2 * r] += ar * b0;
                acc[2 * r + 1] += ar * b1;
            }
            a += 4;
            b += 8;
        }
        TileMerge.Merge((float*)acc, 8, c, ldc, mr, nr, mode, beta);
    }
}
