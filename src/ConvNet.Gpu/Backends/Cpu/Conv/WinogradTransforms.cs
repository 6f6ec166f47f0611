using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>
/// The three transforms of Winograd F(2x2, 3x3) (Lavin and Gray, 2016): a 2x2 output tile from a 4x4 input patch d and
/// a 3x3 filter g as Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A, with
/// <code>
/// B^T = [1  0 -1  0]     G = [1    0    0  ]     A^T = [1  1  1  0]
///       [0  1  1  0]         [1/2  1/2  1/2]           [0  1 -1 -1]
///       [0 -1  1  0]         [1/2 -1/2  1/2]
///       [0  1  0 -1]         [0    0    1  ]
/// </code>
/// The 16 products (xi = 4i + j) of every (channel, tile) are summed over channels by 16 GEMMs in the caller.
/// The input and output transforms run on 16 horizontally adjacent tiles at once (one AVX-512 vector per patch entry);
/// a row whose tile count is not a multiple of 16 ends with a block shifted left, which recomputes a few tiles with
/// identical results (so every value is written the same way whichever block wrote it last). A row of fewer than 16
/// tiles is one block whose extra lanes transform padding and spill into the next row's (or the next channel's) slots,
/// which are written afterwards, or into slack past the last one; they never reach an output.
/// </summary>
internal static unsafe class WinogradTransforms
{
    /// <summary>Tiles per vector block.</summary>
    public const int Lanes = 16;

    /// <summary>Whether the vectorized transforms can run (AVX-512F).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>
    /// U = G g G^T for one 3x3 filter <paramref name="g"/> (row-major, element (r, s) at g[r*rowStep + s*colStep]),
    /// computed in double and rounded once; writes u[xi * stride] for xi = 0..15.
    /// </summary>
    public static void Filter(float* g, int rowStep, int colStep, float* u, long stride)
    {
        Span<double> t = stackalloc double[12]; // G g: 4 x 3
        for (int s = 0; s < 3; s++)
        {
            double g0 = g[s * colStep], g1 = g[rowStep + s * colStep], g2 = g[2 * rowStep + s * colStep];
            t[s] = g0;
            t[3 + s] = 0.5 * (g0 + g1 + g2);
            t[6 + s] = 0.5 * (g0 - g1 + g2);
            t[9 + s] = g2;
        }
        for (int i = 0; i < 4; i++)
        {
            double a = t[3 * i], b = t[3 * i + 1], c = t[3 * i + 2];
            u[(4 * i + 0) * stride] = (float)a;
            u[(4 * i + 1) * stride] = (float)(0.5 * (a + b + c));
            u[(4 * i + 2) * stride] = (float)(0.5 * (a - b + c));
            u[(4 * i + 3) * stride] = (float)c;
        }
    }

    /// <summary>
    /// V = B^T d B for 16 tiles side by side. <paramref name="r0"/>..<paramref name="r3"/> are the four padded input rows
    /// of the tile row, already offset so tile t's patch column j is r[2t + j] (34 readable floats each);
    /// V[xi] goes to v[xi * stride .. + 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Input16(float* r0, float* r1, float* r2, float* r3, float* v, long stride)
    {
        Horizontal(r0, out var h00, out var h01, out var h02, out var h03);
        Horizontal(r1, out var h10, out var h11, out var h12, out var h13);
        Horizontal(r2, out var h20, out var h21, out var h22, out var h23);
        Horizontal(r3, out var h30, out var h31, out var h32, out var h33);
        (h00 - h20).Store(v + 0 * stride); (h01 - h21).Store(v + 1 * stride);
        (h02 - h22).Store(v + 2 * stride); (h03 - h23).Store(v + 3 * stride);
        (h10 + h20).Store(v + 4 * stride); (h11 + h21).Store(v + 5 * stride);
        (h12 + h22).Store(v + 6 * stride); (h13 + h23).Store(v + 7 * stride);
        (h20 - h10).Store(v + 8 * stride); (h21 - h11).Store(v + 9 * stride);
        (h22 - h12).Store(v + 10 * stride); (h23 - h13).Store(v + 11 * stride);
        (h10 - h30).Store(v + 12 * stride); (h11 - h31).Store(v + 13 * stride);
        (h12 - h32).Store(v + 14 * stride); (h13 - h33).Store(v + 15 * stride);
    }

    /// <summary>The row transform (d0 - d2, d1 + d2, d2 - d1, d1 - d3) of one patch row for 16 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horizontal(float* r, out Vector512<float> h0, out Vector512<float> h1, out Vector512<float> h2, out Vector512<float> h3)
    {
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        var a = Vector512.Load(r);
        var b = Vector512.Load(r + 16);
        var a2 = Vector512.Load(r + 2);
        var b2 = Vector512.Load(r + 18);
        var d0 = Avx512F.PermuteVar16x32x2(a, evens, b);   // r[2t]
        var d1 = Avx512F.PermuteVar16x32x2(a, odds, b);    // r[2t + 1]
        var d2 = Avx512F.PermuteVar16x32x2(a2, evens, b2); // r[2t + 2]
        var d3 = Avx512F.PermuteVar16x32x2(a2, odds, b2);  // r[2t + 3]
        h0 = d0 - d2;
        h1 = d1 + d2;
        h2 = d2 - d1;
        h3 = d1 - d3;
    }

    /// <summary>
    /// Y = A^T M A for 16 tiles side by side: M[xi] at m[xi * stride .. + 16); the two output rows (32 floats each, tile
    /// t's columns at 2t and 2t + 1) go to <paramref name="y0"/> and <paramref name="y1"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Output16(float* m, long stride, float* y0, float* y1)
    {
        var m0 = Vector512.Load(m + 0 * stride); var m1 = Vector512.Load(m + 1 * stride);
        var m2 = Vector512.Load(m + 2 * stride); var m3 = Vector512.Load(m + 3 * stride);
        var m4 = Vector512.Load(m + 4 * stride); var m5 = Vector512.Load(m + 5 * stride);
        var m6 = Vector512.Load(m + 6 * stride); var m7 = Vector512.Load(m + 7 * stride);
        var m8 = Vector512.Load(m + 8 * stride); var m9 = Vector512.Load(m + 9 * stride);
        var m10 = Vector512.Load(m + 10 * stride); var m11 = Vector512.Load(m + 11 * stride);
        var m12 = Vector512.Load(m + 12 * stride); var m13 = Vector512.Load(m + 13 * stride);
        var m14 = Vector512.Load(m + 14 * stride); var m15 = Vector512.Load(m + 15 * stride);
        // Rows: s0j = m0j + m1j + m2j, s1j = m1j - m2j - m3j.
        var s00 = m0 + m4 + m8; var s01 = m1 + m5 + m9; var s02 = m2 + m6 + m10; var s03 = m3 + m7 + m11;
        var s10 = m4 - m8 - m12; var s11 = m5 - m9 - m13; var s12 = m6 - m10 - m14; var s13 = m7 - m11 - m15;
        // Columns.
        var y00 = s00 + s01 + s02; var y01 = s01 - s02 - s03;
        var y10 = s10 + s11 + s12; var y11 = s11 - s12 - s13;
        var lo = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var hi = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        Avx512F.PermuteVar16x32x2(y00, lo, y01).Store(y0);
        Avx512F.PermuteVar16x32x2(y00, hi, y01).Store(y0 + 16);
        Avx512F.PermuteVar16x32x2(y10, lo, y11).Store(y1);
        Avx512F.PermuteVar16x32x2(y10, hi, y11).Store(y1 + 16);
    }

    /// <summary>dst[j] = src[2j] for j in [0, count): two loads and one permute per 16 (dilation-2 phase rows).</summary>
    public static void GatherEven(float* src, float* dst, int count)
    {
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        int j = 0;
        // j + 16 < count keeps the second load (src[2j + 16 .. 2j + 31]) within the last element read, src[2(count - 1)].
        for (; j + 16 < count; j += 16)
            Avx512F.PermuteVar16x32x2(Vector512.Load(src + 2 * j), evens, Vector512.Load(src + 2 * j + 16)).Store(dst + j);
        for (; j < count; j++) dst[j] = src[2 * j];
    }

    /// <summary>
    /// dst[2j] = src[j] for j in [0, count), leaving the odd positions untouched (another phase, possibly on another
    /// thread, owns them): masked stores write only the even lanes.
    /// </summary>
    public static void ScatterEven(float* src, float* dst, int count)
    {
        var lo = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        var hi = Vector512.Create(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
        var evenLanes = Vector512.Create(-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0).AsSingle();
        int j = 0;
        // 2j + 31 <= 2(count - 1) keeps the masked-off tail of the second store inside the row as well.
        for (; j + 16 < count; j += 16)
        {
            var v = Vector512.Load(src + j);
            Avx512F.MaskStore(dst + 2 * j, evenLanes, Avx512F.PermuteVar16x32(v, lo));
            Avx512F.MaskStore(dst + 2 * j + 16, evenLanes, Avx512F.PermuteVar16x32(v, hi));
        }
        for (; j < count; j++) dst[2 * j] = src[j];
    }

    /// <summary>
    /// Gradient transform of the weight-gradient pass (F(3x3, 2x2), the transpose of F(2x2, 3x3)): U = A y A^T for the
    /// 2x2 output-gradient tile y of 16 tiles side by side, A = [1 0; 1 1; 1 -1; 0 -1]. <paramref name="r0"/> and
    /// <paramref name="r1"/> are the two padded dY rows of the tile row (tile t's column j at r[2t + j], 32 readable floats);
    /// U[xi] goes to u[xi * stride .. + 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Gradient16(float* r0, float* r1, float* u, long stride)
    {
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        var a = Vector512.Load(r0); var b = Vector512.Load(r0 + 16);
        var y00 = Avx512F.PermuteVar16x32x2(a, evens, b); var y01 = Avx512F.PermuteVar16x32x2(a, odds, b);
        a = Vector512.Load(r1); b = Vector512.Load(r1 + 16);
        var y10 = Avx512F.PermuteVar16x32x2(a, evens, b); var y11 = Avx512F.PermuteVar16x32x2(a, odds, b);
        // Rows of A y (4 x 2): (y0, y0 + y1, y0 - y1, -y1) per column.
        var p0 = y01; var s0 = y00;                 // row 0: (y00, y01)
        var s1 = y00 + y10; var p1 = y01 + y11;     // row 1
        var s2 = y00 - y10; var p2 = y01 - y11;     // row 2
        var s3 = -y10; var p3 = -y11;               // row 3
        // Columns: (c0, c0 + c1, c0 - c1, -c1).
        s0.Store(u + 0 * stride); (s0 + p0).Store(u + 1 * stride); (s0 - p0).Store(u + 2 * stride); (-p0).Store(u + 3 * stride);
        s1.Store(u + 4 * stride); (s1 + p1).Store(u + 5 * stride); (s1 - p1).Store(u + 6 * stride); (-p1).Store(u + 7 * stride);
        s2.Store(u + 8 * stride); (s2 + p2).Store(u + 9 * stride); (s2 - p2).Store(u + 10 * stride); (-p2).Store(u + 11 * stride);
        s3.Store(u + 12 * stride); (s3 + p3).Store(u + 13 * stride); (s3 - p3).Store(u + 14 * stride); (-p3).Store(u + 15 * stride);
    }

    /// <summary>dW = G^T M G for one (k, c): M[xi] at m[xi * stride] (16 sums), in double, rounded once; dW row-major 3x3.</summary>
    public static void WeightOutput(float* m, long stride, Span<double> dw)
    {
        Span<double> t = stackalloc double[12]; // G^T M: 3 x 4
        for (int j = 0; j < 4; j++)
        {
            double m0 = m[j * stride], m1 = m[(4 + j) * stride], m2 = m[(8 + j) * stride], m3 = m[(12 + j) * stride];
            t[j] = m0 + 0.5 * (m1 + m2);
            t[4 + j] = 0.5 * (m1 - m2);
            t[8 + j] = 0.5 * (m1 + m2) + m3;
        }
        for (int r = 0; r < 3; r++)
        {
            double a = t[4 * r], b = t[4 * r + 1], c = t[4 * r + 2], d = t[4 * r + 3];
            dw[3 * r] = a + 0.5 * (b + c);
            dw[3 * r + 1] = 0.5 * (b - c);
            dw[3 * r + 2] = 0.5 * (b + c) + d;
        }
    }
}
