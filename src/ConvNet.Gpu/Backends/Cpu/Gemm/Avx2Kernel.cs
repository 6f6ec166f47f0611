// Register-tiled SGEMM micro-kernel. The per-row blocks are written out in full (first emitted by a small script, now
// plain source); rows beyond TR.Value are removed by the JIT because TR is a struct type parameter with a constant Value.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// AVX2+FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators, two B loads and six broadcasts per k step
/// (15 of the 16 ymm registers).
/// </summary>
internal readonly unsafe struct Avx2Kernel : ISgemmKernel
{
    /// <summary>Rows of C per tile (the packed A panel height).</summary>
    public static int MR => 6;
    /// <summary>Columns of C per tile (2 vectors of 8; the packed B panel width).</summary>
    public static int NR => 16;
    /// <summary>Reduction depth of one packed block.</summary>
    public static int KC => 256;
    /// <summary>Rows of A packed per block (a multiple of MR; the block stays in L2).</summary>
    public static int MC => 120;
    /// <summary>Columns of B packed per block (a multiple of NR).</summary>
    public static int NC => 2048;
    /// <summary>Whether this CPU can run the kernel.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>C tile (mr x nr at <paramref name="c"/>) op= packed A panel (kc x MR) times packed B panel (kc x NR);
    /// <paramref name="t"/> is an MR x NR scratch tile for ragged right edges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile(int mr, int nr, int kc, float* a, float* b, float* c, int ldc, TileStore mode, float beta, float* t)
    {
        switch (mr)
        {
            case 1: Rows<R1>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            case 2: Rows<R2>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            case 3: Rows<R3>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            case 4: Rows<R4>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            case 5: Rows<R5>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            case 6: Rows<R6>(nr, kc, a, b, c, ldc, mode, beta, t); break;
            default: throw new ArgumentOutOfRangeException(nameof(mr));
        }
    }

    // Full optimization from the first call: tier-0 code for this loop is many times slower and GEMMs make few calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TR>(int nr, int kc, float* a, float* b, float* c, int ldc, TileStore mode, float beta, float* t)
        where TR : struct, IRowCount
    {
        Vector256<float> c0_0 = default; Vector256<float> c0_1 = default;
        Vector256<float> c1_0 = default; Vector256<float> c1_1 = default;
        Vector256<float> c2_0 = default; Vector256<float> c2_1 = default;
        Vector256<float> c3_0 = default; Vector256<float> c3_1 = default;
        Vector256<float> c4_0 = default; Vector256<float> c4_1 = default;
        Vector256<float> c5_0 = default; Vector256<float> c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            { var a0 = Vector256.Create(a[0]); c0_0 = Fma.MultiplyAdd(a0, b0, c0_0); c0_1 = Fma.MultiplyAdd(a0, b1, c0_1); }
            if (TR.Value > 1) { var a1 = Vector256.Create(a[1]); c1_0 = Fma.MultiplyAdd(a1, b0, c1_0); c1_1 = Fma.MultiplyAdd(a1, b1, c1_1); }
            if (TR.Value > 2) { var a2 = Vector256.Create(a[2]); c2_0 = Fma.MultiplyAdd(a2, b0, c2_0); c2_1 = Fma.MultiplyAdd(a2, b1, c2_1); }
            if (TR.Value > 3) { var a3 = Vector256.Create(a[3]); c3_0 = Fma.MultiplyAdd(a3, b0, c3_0); c3_1 = Fma.MultiplyAdd(a3, b1, c3_1); }
            if (TR.Value > 4) { var a4 = Vector256.Create(a[4]); c4_0 = Fma.MultiplyAdd(a4, b0, c4_0); c4_1 = Fma.MultiplyAdd(a4, b1, c4_1); }
            if (TR.Value > 5) { var a5 = Vector256.Create(a[5]); c5_0 = Fma.MultiplyAdd(a5, b0, c5_0); c5_1 = Fma.MultiplyAdd(a5, b1, c5_1); }
            a += 6;
            b += 16;
        }

        // Full-width tiles go straight to C; a ragged right edge goes through the scratch tile and a scalar merge.
        // (No calls may happen while the accumulators are live: the JIT would spill all of them on every iteration.)
        bool direct = nr == 16;
        float* dst = direct ? c : t;
        int ld = direct ? ldc : 16;
        TileStore m = direct ? mode : TileStore.Overwrite;
        var bv = Vector256.Create(beta);
        Store2(dst + 0 * ld, c0_0, c0_1, m, bv);
        if (TR.Value > 1) Store2(dst + 1 * ld, c1_0, c1_1, m, bv);
        if (TR.Value > 2) Store2(dst + 2 * ld, c2_0, c2_1, m, bv);
        if (TR.Value > 3) Store2(dst + 3 * ld, c3_0, c3_1, m, bv);
        if (TR.Value > 4) Store2(dst + 4 * ld, c4_0, c4_1, m, bv);
        if (TR.Value > 5) Store2(dst + 5 * ld, c5_0, c5_1, m, bv);
        if (!direct) TileMerge.Merge(t, 16, c, ldc, TR.Value, nr, mode, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2(float* d, Vector256<float> v0, Vector256<float> v1, TileStore mode, Vector256<float> beta)
    {
        switch (mode)
        {
            case TileStore.Overwrite:
                v0.Store(d + 0);
                v1.Store(d + 8);
                break;
            case TileStore.Accumulate:
                (Vector256.Load(d + 0) + v0).Store(d + 0);
                (Vector256.Load(d + 8) + v1).Store(d + 8);
                break;
            default:
                Fma.MultiplyAdd(beta, Vector256.Load(d + 0), v0).Store(d + 0);
                Fma.MultiplyAdd(beta, Vector256.Load(d + 8), v1).Store(d + 8);
                break;
        }
    }
}
