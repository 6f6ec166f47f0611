// Register-tiled SGEMM micro-kernel. The per-row blocks are written out in full (first emitted by a small script, now
// plain source); rows beyond TR.Value are removed by the JIT because TR is a struct type parameter with a constant Value.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// AVX-512F micro-kernel: a 12 x 32 tile of C held in 24 zmm accumulators; per k step it loads 2 B vectors,
/// broadcasts 12 A values and issues 24 FMAs (fits the 32 zmm registers, so nothing spills).
/// </summary>
internal readonly unsafe struct Avx512Kernel : ISgemmKernel
{
    /// <summary>Rows of C per tile (the packed A panel height).</summary>
    public static int MR => 12;
    /// <summary>Columns of C per tile (2 vectors of 16; the packed B panel width).</summary>
    public static int NR => 32;
    /// <summary>Reduction depth of one packed block.</summary>
    public static int KC => 384;
    /// <summary>Rows of A packed per block (a multiple of MR; the block stays in L2).</summary>
    public static int MC => 144;
    /// <summary>Columns of B packed per block (a multiple of NR).</summary>
    public static int NC => 1024;
    /// <summary>Whether this CPU can run the kernel.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>C tile (mr x nr at <paramref name="c"/>) op= packed A panel (kc x MR) times packed B panel (kc x NR);
    /// <paramref name="t"/> is an MR x NR scratch tile for ragged right edges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile(int mr, int nr, int kc, float* a, float* b, float* c, int ldc, TileStore mode, float beta, float* t)
    {
        switch (mr)
        {
            case 1: Rows<R1>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 2: Rows<R2>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 3: Rows<R3>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 4: Rows<R4>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 5: Rows<R5>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 6: Rows<R6>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 7: Rows<R7>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 8: Rows<R8>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 9: Rows<R9>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 10: Rows<R10>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 11: Rows<R11>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            case 12: Rows<R12>(nr, kc, a, b, 32, c, ldc, mode, beta, t); break;
            default: throw new ArgumentOutOfRangeException(nameof(mr));
        }
    }

    /// <summary>
    /// <see cref="Tile"/> reading B unpacked: row p of the panel at b + p * <paramref name="ldb"/> (32 readable floats
    /// each, of which the first <paramref name="nr"/> count). For callers whose B is already laid out k-major, such as
    /// the Winograd transforms. <paramref name="mode"/> is Overwrite or Accumulate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TileStridedB(int mr, int nr, int kc, float* a, float* b, int ldb, float* c, int ldc, TileStore mode, float* t)
    {
        switch (mr)
        {
            case 1: Rows<R1>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 2: Rows<R2>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 3: Rows<R3>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 4: Rows<R4>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 5: Rows<R5>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 6: Rows<R6>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 7: Rows<R7>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 8: Rows<R8>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 9: Rows<R9>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 10: Rows<R10>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 11: Rows<R11>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            case 12: Rows<R12>(nr, kc, a, b, ldb, c, ldc, mode, 1f, t); break;
            default: throw new ArgumentOutOfRangeException(nameof(mr));
        }
    }

    // Full optimization from the first call: tier-0 code for this loop is many times slower and GEMMs make few calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TR>(int nr, int kc, float* a, float* b, int bStep, float* c, int ldc, TileStore mode, float beta, float* t)
        where TR : struct, IRowCount
    {
        Vector512<float> c0_0 = default; Vector512<float> c0_1 = default;
        Vector512<float> c1_0 = default; Vector512<float> c1_1 = default;
        Vector512<float> c2_0 = default; Vector512<float> c2_1 = default;
        Vector512<float> c3_0 = default; Vector512<float> c3_1 = default;
        Vector512<float> c4_0 = default; Vector512<float> c4_1 = default;
        Vector512<float> c5_0 = default; Vector512<float> c5_1 = default;
        Vector512<float> c6_0 = default; Vector512<float> c6_1 = default;
        Vector512<float> c7_0 = default; Vector512<float> c7_1 = default;
        Vector512<float> c8_0 = default; Vector512<float> c8_1 = default;
        Vector512<float> c9_0 = default; Vector512<float> c9_1 = default;
        Vector512<float> c10_0 = default; Vector512<float> c10_1 = default;
        Vector512<float> c11_0 = default; Vector512<float> c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            { var a0 = Vector512.Create(a[0]); c0_0 = Avx512F.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(a0, b1, c0_1); }
            if (TR.Value > 1) { var a1 = Vector512.Create(a[1]); c1_0 = Avx512F.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(a1, b1, c1_1); }
            if (TR.Value > 2) { var a2 = Vector512.Create(a[2]); c2_0 = Avx512F.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(a2, b1, c2_1); }
            if (TR.Value > 3) { var a3 = Vector512.Create(a[3]); c3_0 = Avx512F.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(a3, b1, c3_1); }
            if (TR.Value > 4) { var a4 = Vector512.Create(a[4]); c4_0 = Avx512F.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(a4, b1, c4_1); }
            if (TR.Value > 5) { var a5 = Vector512.Create(a[5]); c5_0 = Avx512F.FusedMultiplyAdd(a5, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(a5, b1, c5_1); }
            if (TR.Value > 6) { var a6 = Vector512.Create(a[6]); c6_0 = Avx512F.FusedMultiplyAdd(a6, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(a6, b1, c6_1); }
            if (TR.Value > 7) { var a7 = Vector512.Create(a[7]); c7_0 = Avx512F.FusedMultiplyAdd(a7, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(a7, b1, c7_1); }
            if (TR.Value > 8) { var a8 = Vector512.Create(a[8]); c8_0 = Avx512F.FusedMultiplyAdd(a8, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(a8, b1, c8_1); }
            if (TR.Value > 9) { var a9 = Vector512.Create(a[9]); c9_0 = Avx512F.FusedMultiplyAdd(a9, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(a9, b1, c9_1); }
            if (TR.Value > 10) { var a10 = Vector512.Create(a[10]); c10_0 = Avx512F.FusedMultiplyAdd(a10, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(a10, b1, c10_1); }
            if (TR.Value > 11) { var a11 = Vector512.Create(a[11]); c11_0 = Avx512F.FusedMultiplyAdd(a11, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(a11, b1, c11_1); }
            a += 12;
            b += bStep;
        }

        // Full-width tiles go straight to C; a ragged right edge goes through the scratch tile and a scalar merge.
        // (No calls may happen while the accumulators are live: the JIT would spill all of them on every iteration.)
        bool direct = nr == 32;
        float* dst = direct ? c : t;
        int ld = direct ? ldc : 32;
        TileStore m = direct ? mode : TileStore.Overwrite;
        var bv = Vector512.Create(beta);
        Store2(dst + 0 * ld, c0_0, c0_1, m, bv);
        if (TR.Value > 1) Store2(dst + 1 * ld, c1_0, c1_1, m, bv);
        if (TR.Value > 2) Store2(dst + 2 * ld, c2_0, c2_1, m, bv);
        if (TR.Value > 3) Store2(dst + 3 * ld, c3_0, c3_1, m, bv);
        if (TR.Value > 4) Store2(dst + 4 * ld, c4_0, c4_1, m, bv);
        if (TR.Value > 5) Store2(dst + 5 * ld, c5_0, c5_1, m, bv);
        if (TR.Value > 6) Store2(dst + 6 * ld, c6_0, c6_1, m, bv);
        if (TR.Value > 7) Store2(dst + 7 * ld, c7_0, c7_1, m, bv);
        if (TR.Value > 8) Store2(dst + 8 * ld, c8_0, c8_1, m, bv);
        if (TR.Value > 9) Store2(dst + 9 * ld, c9_0, c9_1, m, bv);
        if (TR.Value > 10) Store2(dst + 10 * ld, c10_0, c10_1, m, bv);
        if (TR.Value > 11) Store2(dst + 11 * ld, c11_0, c11_1, m, bv);
        if (!direct) TileMerge.Merge(t, 32, c, ldc, TR.Value, nr, mode, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2(float* d, Vector512<float> v0, Vector512<float> v1, TileStore mode, Vector512<float> beta)
    {
        switch (mode)
        {
            case TileStore.Overwrite:
                v0.Store(d + 0);
                v1.Store(d + 16);
                break;
            case TileStore.Accumulate:
                (Vector512.Load(d + 0) + v0).Store(d + 0);
                (Vector512.Load(d + 16) + v1).Store(d + 16);
                break;
            default:
                Avx512F.FusedMultiplyAdd(beta, Vector512.Load(d + 0), v0).Store(d + 0);
                Avx512F.FusedMultiplyAdd(beta, Vector512.Load(d + 16), v1).Store(d + 16);
                break;
        }
    }
}
