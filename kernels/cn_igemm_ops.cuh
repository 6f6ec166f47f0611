// cn_igemm_ops.cuh: the three convolution passes as implicit GEMMs for the main loops of cn_igemm.cuh. Per group g
// (G groups; CG = C/G input and KG = K/G output channels each), with the geometry of cn_conv:
//
//   forward    D = Y_g  (KG x N*OH*OW):  A = W_g (KG x RG, RG = CG*KH*KW, row-major),
//                                        B[q = (ci, kh, kw)][m = (n, oh, ow)] = x[n][g*CG+ci][oh*SH-PT+kh*DH][ow*SW-PL+kw*DW]
//              epilogue y = act(D + bias[k]) (bias optional, act -1 = none; cn_activation.cuh)
//   backward-data  D = dX_g (CG x N*H*W): A[ci][q = (k, kh, kw)] = w[g*KG+k][ci][kh][kw],
//                                        B[q][m = (n, ih, iw)] = dy[n][g*KG+k][oh][ow] where ih = oh*SH-PT+kh*DH and
//                                        iw likewise, i.e. oh = (ih+PT-kh*DH)/SH when that divides exactly and lies in
//                                        [0, OH), else 0 (the gather form of col2im: no atomics)
//   backward-weights D = dW_g (KG x RG): A[k][p = (n, oh, ow)] = dy[n][g*KG+k][oh][ow], B[p][q] = the forward's B^T;
//                                        the reduction over p = N*OH*OW is split into blockIdx.z ranges whose partial
//                                        tiles a second kernel sums in split order (fixed, so deterministic)
//
// Zero elements (padding, a dgrad tap that misses the stride, tile edges) are loaded as 0 and add nothing.
// A thread's gather state is advanced per k-step without division (cn_tap), and its B elements are visited in order
// through one cursor (b(j) must be called for j = 0, 1, ... in turn, as the main loops do), so it holds three taps, not
// one per element; divisions happen once per thread per tile (its column's pixel) and, in backward-weights, once per
// k-step (its reduction pixel).
// Offsets inside one image (C*H*W, K*OH*OW elements) are ints; image starts are 64-bit.
#pragma once
#include "cn_igemm.cuh"
#include "cn_activation.cuh"

#define CN_QF_K(BK) (threadIdx.x % (BK))                                     // q-fastest: this thread's k
#define CN_QF_T(BK, j) ((int)(threadIdx.x / (BK)) + (j) * (CN_IGEMM_THREADS / (BK)))
#define CN_TF_T(BT) ((int)(threadIdx.x % (BT)))                              // t-fastest: this thread's t
#define CN_TF_K(BT, j) ((int)(threadIdx.x / (BT)) + (j) * (CN_IGEMM_THREADS / (BT)))

// The offset of batch pixel m = (n, pix) in an (N, channels, plane) tensor, false past the last pixel: the column part
// of an epilogue's output offset (the row adds channel * plane).
CN_DEVICE bool cn_pixel_column(int m, int N, int plane, int channels, long long& at)
{
    if (m >= N * plane) return false;
    int n = m / plane;
    at = (long long)n * channels * plane + (m - n * plane);
    return true;
}

// ------------------------------------------------------------------------------------------------- forward
template <int BK_>
struct cn_fwd_op
{
    static constexpr int BK = BK_;
    static constexpr int A_PER = BK * CN_IGEMM_BM / CN_IGEMM_THREADS;  // W, q-fastest
    static constexpr int B_PER = BK * CN_IGEMM_BN / CN_IGEMM_THREADS;  // x, column-fastest
    cn_conv g;
    GPTR(const float) a_base;  // w
    GPTR(const float) b_base;  // x (the base pointer stands in for every zero-filled element)
    GPTR(const float) x_img;   // x[n][group*CG]: this thread's column's image
    GPTR(const float) bias;
    GPTR(float) y;
    int act, group, row0, col0, q0;
    float alpha;
    bool col_ok;
    int ih0, iw0;
    cn_tap tap, cur, step, jstep;  // element 0's tap this k-step; b()'s cursor; per k-step; per element (cn_igemm_bcursor)

    CN_DEVICE_MEMBER cn_fwd_op(const cn_conv& g_, GPTR(const float) x, GPTR(const float) w, GPTR(const float) bias_,
                               GPTR(float) y_, int act_, float alpha_, int group_, int row0_, int col0_)
        : g(g_), a_base(w), b_base(x), x_img(x), bias(bias_), y(y_), act(act_), group(group_), row0(row0_), col0(col0_),
          q0(0), alpha(alpha_)
    {
        int m = col0 + CN_TF_T(CN_IGEMM_BN);
        col_ok = m < g.N * g.OHOW;
        int n = col_ok ? m / g.OHOW : 0, pix = m - n * g.OHOW, oh = pix / g.OW, ow = pix - oh * g.OW;
        x_img = x + ((long long)n * g.C + (long long)group * g.CG) * g.HW;
        ih0 = oh * g.SH - g.PT;
        iw0 = ow * g.SW - g.PL;
        tap = cur = cn_tap_of(CN_TF_K(CN_IGEMM_BN, 0), g.KH, g.KW);
        step = cn_tap_of(BK, g.KH, g.KW);
        jstep = cn_tap_of(CN_IGEMM_THREADS / CN_IGEMM_BN, g.KH, g.KW);
    }
    CN_DEVICE_MEMBER int A_K(int) const { return CN_QF_K(BK); }
    CN_DEVICE_MEMBER int A_T(int j) const { return CN_QF_T(BK, j); }
    CN_DEVICE_MEMBER int B_K(int j) const { return CN_TF_K(CN_IGEMM_BN, j); }
    CN_DEVICE_MEMBER int B_T(int) const { return CN_TF_T(CN_IGEMM_BN); }
    CN_DEVICE_MEMBER bool a(int j, GPTR(const float)& p) const
    {
        int row = row0 + A_T(j), q = q0 + A_K(j);
        p = a_base + ((group * g.KG + row) * g.RG + q);
        return row < g.KG && q < g.RG;
    }
    // Elements j = 0, 1, ..., B_PER - 1 in that order (the main loops' fetches): one cursor instead of B_PER taps.
    CN_DEVICE_MEMBER bool b(int j, GPTR(const float)& p)
    {
        if (j == 0) cur = tap;
        const cn_tap t = cur;
        cn_tap_advance(cur, jstep, g.KH, g.KW);
        int ih = ih0 + t.kh * g.DH, iw = iw0 + t.kw * g.DW;
        p = x_img + (t.outer * g.HW + ih * g.W + iw);
        return col_ok && t.outer < g.CG && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
    }
    CN_DEVICE_MEMBER void advance()
    {
        q0 += BK;
        cn_tap_advance(tap, step, g.KH, g.KW);
    }
    // y[n][k][pix]: column m = (n, pix) gives n*K*OH*OW + pix, row k adds k*OH*OW.
    CN_DEVICE_MEMBER bool column(int c, long long& at) const { return cn_pixel_column(col0 + c, g.N, g.OHOW, g.K, at); }
    CN_DEVICE_MEMBER void put(int r, long long at, float v) const
    {
        int row = row0 + r;
        if (row >= g.KG) return;
        int k = group * g.KG + row;
        if (bias) v += bias[k];
        y[at + (long long)k * g.OHOW] = cn_epilogue_act(act, alpha, v);
    }
};

// ------------------------------------------------------------------------------------------------- backward-data
template <int BK_>
struct cn_dgrad_op
{
    static constexpr int BK = BK_;
    static constexpr int A_PER = BK * CN_IGEMM_BM / CN_IGEMM_THREADS;  // w as (ci, k*KH*KW), q-fastest
    static constexpr int B_PER = BK * CN_IGEMM_BN / CN_IGEMM_THREADS;  // dy, column-fastest
    cn_conv g;
    GPTR(const float) a_base;  // w
    GPTR(const float) b_base;  // dy
    GPTR(const float) dy_img;  // dy[n][group*KG]
    GPTR(float) dx;
    int group, row0, col0;
    bool col_ok;
    int ihp, iwp;              // ih + PT, iw + PL of this thread's column
    cn_tap atap, tap, cur, step, jstep;  // A's tap; B element 0's tap, b()'s cursor, per k-step, per element

    CN_DEVICE_MEMBER cn_dgrad_op(const cn_conv& g_, GPTR(const float) dy, GPTR(const float) w, GPTR(float) dx_,
                                 int group_, int row0_, int col0_)
        : g(g_), a_base(w), b_base(dy), dy_img(dy), dx(dx_), group(group_), row0(row0_), col0(col0_)
    {
        int m = col0 + CN_TF_T(CN_IGEMM_BN);
        col_ok = m < g.N * g.HW;
        int n = col_ok ? m / g.HW : 0, pix = m - n * g.HW, ih = pix / g.W, iw = pix - ih * g.W;
        dy_img = dy + ((long long)n * g.K + (long long)group * g.KG) * g.OHOW;
        ihp = ih + g.PT;
        iwp = iw + g.PL;
        atap = cn_tap_of(CN_QF_K(BK), g.KH, g.KW);
        tap = cur = cn_tap_of(CN_TF_K(CN_IGEMM_BN, 0), g.KH, g.KW);
        step = cn_tap_of(BK, g.KH, g.KW);
        jstep = cn_tap_of(CN_IGEMM_THREADS / CN_IGEMM_BN, g.KH, g.KW);
    }
    CN_DEVICE_MEMBER int A_K(int) const { return CN_QF_K(BK); }
    CN_DEVICE_MEMBER int A_T(int j) const { return CN_QF_T(BK, j); }
    CN_DEVICE_MEMBER int B_K(int j) const { return CN_TF_K(CN_IGEMM_BN, j); }
    CN_DEVICE_MEMBER int B_T(int) const { return CN_TF_T(CN_IGEMM_BN); }
    CN_DEVICE_MEMBER bool a(int j, GPTR(const float)& p) const
    {
        int ci = row0 + A_T(j);
        p = a_base + (((group * g.KG + atap.outer) * g.CG + ci) * g.KHKW + atap.kh * g.KW + atap.kw);
        return ci < g.CG && atap.outer < g.KG;
    }
    CN_DEVICE_MEMBER bool b(int j, GPTR(const float)& p)
    {
        if (j == 0) cur = tap;
        const cn_tap t = cur;
        cn_tap_advance(cur, jstep, g.KH, g.KW);
        int th = ihp - t.kh * g.DH, tw = iwp - t.kw * g.DW;
        bool ok = col_ok && t.outer < g.KG && th >= 0 && tw >= 0;
        int oh = th, ow = tw;
        if (g.SH != 1) { oh = th / g.SH; ok = ok && oh * g.SH == th; }
        if (g.SW != 1) { ow = tw / g.SW; ok = ok && ow * g.SW == tw; }
        ok = ok && oh < g.OH && ow < g.OW;
        p = dy_img + (t.outer * g.OHOW + oh * g.OW + ow);
        return ok;
    }
    CN_DEVICE_MEMBER void advance()
    {
        cn_tap_advance(atap, step, g.KH, g.KW);
        cn_tap_advance(tap, step, g.KH, g.KW);
    }
    // dx[n][c][pix]: column m = (n, pix) gives n*C*H*W + pix, row ci adds (group*CG + ci)*H*W.
    CN_DEVICE_MEMBER bool column(int c, long long& at) const { return cn_pixel_column(col0 + c, g.N, g.HW, g.C, at); }
    CN_DEVICE_MEMBER void put(int r, long long at, float v) const
    {
        int ci = row0 + r;
        if (ci >= g.CG) return;
        dx[at + (long long)(group * g.CG + ci) * g.HW] = v;
    }
};

// ------------------------------------------------------------------------------------------------- backward-weights
// The split s = blockIdx.z reduces pixels [s * span, min((s + 1) * span, N*OH*OW)). With one split the tile goes
// straight to dw (accumulating onto it when asked); with more, to partial[s] (K x RG), summed by cn_igemm_wgrad_reduce.
template <int BK_>
struct cn_wgrad_op
{
    static constexpr int BK = BK_;
    static constexpr int A_PER = BK * CN_IGEMM_BM / CN_IGEMM_THREADS;  // dy, q-fastest (along the pixels)
    static constexpr int B_PER = BK * CN_IGEMM_BN / CN_IGEMM_THREADS;  // x, q-fastest (along the pixels)
    cn_conv g;
    GPTR(const float) a_base;  // dy
    GPTR(const float) b_base;  // x
    GPTR(float) out;           // dw, or the partial tiles
    int group, row0, col0, p, p_end, splits, accumulate;
    bool p_ok;
    int n, pix, oh, ow;        // this thread's reduction pixel in the current k-step
    cn_tap tap, cur, jstep;    // this thread's first column (ci, kh, kw) (fixed), b()'s cursor, per element

    CN_DEVICE_MEMBER cn_wgrad_op(const cn_conv& g_, GPTR(const float) x, GPTR(const float) dy, GPTR(float) out_, int group_,
                                 int row0_, int col0_, int p_begin, int p_end_, int splits_, int accumulate_)
        : g(g_), a_base(dy), b_base(x), out(out_), group(group_), row0(row0_), col0(col0_), p(p_begin + CN_QF_K(BK)),
          p_end(p_end_), splits(splits_), accumulate(accumulate_)
    {
        tap = cur = cn_tap_of(col0 + CN_QF_T(BK, 0), g.KH, g.KW);
        jstep = cn_tap_of(CN_IGEMM_THREADS / BK, g.KH, g.KW);
        decode();
    }
    CN_DEVICE_MEMBER void decode()
    {
        p_ok = p < p_end;
        n = p_ok ? p / g.OHOW : 0;
        pix = p - n * g.OHOW;
        oh = pix / g.OW;
        ow = pix - oh * g.OW;
    }
    CN_DEVICE_MEMBER int A_K(int) const { return CN_QF_K(BK); }
    CN_DEVICE_MEMBER int A_T(int j) const { return CN_QF_T(BK, j); }
    CN_DEVICE_MEMBER int B_K(int) const { return CN_QF_K(BK); }
    CN_DEVICE_MEMBER int B_T(int j) const { return CN_QF_T(BK, j); }
    CN_DEVICE_MEMBER bool a(int j, GPTR(const float)& ptr) const
    {
        int k = row0 + A_T(j);
        ptr = a_base + (((long long)n * g.K + group * g.KG + k) * g.OHOW + pix);
        return p_ok && k < g.KG;
    }
    CN_DEVICE_MEMBER bool b(int j, GPTR(const float)& ptr)
    {
        if (j == 0) cur = tap;
        const cn_tap t = cur;
        cn_tap_advance(cur, jstep, g.KH, g.KW);
        int ih = oh * g.SH - g.PT + t.kh * g.DH, iw = ow * g.SW - g.PL + t.kw * g.DW;
        ptr = b_base + (((long long)n * g.C + group * g.CG + t.outer) * g.HW + ih * g.W + iw);
        return p_ok && t.outer < g.CG && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
    }
    CN_DEVICE_MEMBER void advance()
    {
        p += BK;
        decode();
    }
    // dw[k][q] (or partial[split][k][q]): column q gives q (plus the split's offset), row k adds k*RG.
    CN_DEVICE_MEMBER bool column(int c, long long& at) const
    {
        int q = col0 + c;
        if (q >= g.RG) return false;
        at = q + (splits > 1 ? (long long)blockIdx.z * g.K * g.RG : 0);
        return true;
    }
    CN_DEVICE_MEMBER void put(int r, long long at, float v) const
    {
        int k = row0 + r;
        if (k >= g.KG) return;
        long long o = at + (long long)(group * g.KG + k) * g.RG;
        out[o] = splits == 1 && accumulate ? out[o] + v : v;
    }
};
