/* Sinter Winograd: the transforms of F(2x2,3x3) and F(4x4,3x3) convolution (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016) and the batched GEMM between them.
 *
 * A 3x3 stride-1 correlation over one output tile of m x m (m = 2 or 4) reads an input tile d of
 * n x n (n = m + 2) and is
 *     Y = A^T [ (G g G^T) (.) (B^T d B) ] A        ((.): the elementwise product of n x n matrices)
 * Summed over input channels k, the elementwise products become n*n independent matrix products,
 * one per transform position xi = n * row + column:
 *     M_xi[tile][o] = sum_k V_xi[tile][k] U_xi[k][o],  V = B^T d B per tile and channel,
 *                                                      U = G g G^T per filter (k, o),
 * and Y = A^T M A per tile and output channel. Generated kernels (WinogradKernels.swift) call
 * the filter transform once per call, then, per block of tiles, the input transform, the GEMMs
 * (sinter_wino_gemm_*) and the output transform.
 *
 * Transform points (the interpolation points of the Toom-Cook construction):
 *   F(2,3): 0, 1, -1, infinity
 *       B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *       G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *       A^T = [1 1 1 0; 0 1 -1 -1]
 *   F(4,3): 0, 1, -1, 1/2, -1/2, infinity
 *       B^T = [1 0 -5 0 4 0; 0 1 1 -4 -4 0; 0 -1 1 4 -4 0; 0 1 2 -1 -2 0; 0 -1 2 1 -2 0; 0 1 0 -5 0 4]
 *       G   = [1 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 4/3 2/3 1/3; 4/3 -2/3 1/3; 0 0 1/4]
 *       A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -1/2 0; 0 1 1 1/4 1/4 0; 0 1 -1 1/8 -1/8 1]
 * The fractions that are not powers of two (1/3, 1/6) are in G and are divisions, so they round
 * once per transformed weight; every other constant is exact. Docs/strategies.md ("Winograd")
 * has the error bound and the measured errors.
 *
 * Operation counts (one vector add, subtract, multiply or divide each; the Swift cost rule,
 * WinogradKernels.swift, uses these numbers and must change with them):
 *   1-D B^T: F2 4, F4 21;  1-D G: F2 5, F4 13;  1-D A^T: F2 4, F4 13.
 *   2-D input transform 2n 1-D B^T, filter transform (3 + n) 1-D G, output (n + m) 1-D A^T.
 *
 * Every transform works on vectors of channels (NHWC: channels are contiguous) with no fused
 * multiply-adds and a fixed order of operations, so each channel's result is the same whatever
 * vector lane or partial vector it is computed in. Summation order of the GEMM: that of
 * sinter_gemm.h over k (one chunk: K is the channel count), fixed by the shapes alone, so how
 * tiles are cut into blocks and blocks shared between threads changes no bit of the result.
 */
#ifndef SINTER_WINOGRAD_H
#define SINTER_WINOGRAD_H
#include "sinter_prelude.h"
#include "sinter_gemm.h"

/* 1-D transforms on vectors; i(k) reads input k, o(k) names output k. */
#define SINTER_WINO2_BT(VT, T, i, o) do {                                                      \
    o(0) = i(0) - i(2); o(1) = i(1) + i(2); o(2) = i(2) - i(1); o(3) = i(1) - i(3);            \
} while (0)
#define SINTER_WINO2_G(VT, T, i, o) do {                                                       \
    const VT s_ = i(0) + i(2);                                                                 \
    o(0) = i(0); o(1) = (s_ + i(1)) * (T)0.5; o(2) = (s_ - i(1)) * (T)0.5; o(3) = i(2);        \
} while (0)
#define SINTER_WINO2_AT(VT, T, i, o) do {                                                      \
    o(0) = i(0) + i(1) + i(2); o(1) = i(1) - i(2) - i(3);                                      \
} while (0)
#define SINTER_WINO4_BT(VT, T, i, o) do {                                                      \
    const VT a_ = i(1) + i(2), b_ = i(3) + i(4), c_ = i(2) - i(1), e_ = i(3) - i(4);           \
    const VT f_ = i(1) - i(3), h_ = (T)2 * (i(2) - i(4));                                      \
    o(0) = i(0) - (T)5 * i(2) + (T)4 * i(4);                                                   \
    o(1) = a_ - (T)4 * b_;                                                                     \
    o(2) = c_ + (T)4 * e_;                                                                     \
    o(3) = f_ + h_;                                                                            \
    o(4) = h_ - f_;                                                                            \
    o(5) = i(1) - (T)5 * i(3) + (T)4 * i(5);                                                   \
} while (0)
#define SINTER_WINO4_G(VT, T, i, o) do {                                                       \
    const VT s_ = i(0) + i(2), t_ = (T)4 * i(0) + i(2), g1_ = (T)2 * i(1);                     \
    o(0) = i(0);                                                                               \
    o(1) = (s_ + i(1)) / (T)-6;                                                                \
    o(2) = (s_ - i(1)) / (T)-6;                                                                \
    o(3) = (t_ + g1_) / (T)3;                                                                  \
    o(4) = (t_ - g1_) / (T)3;                                                                  \
    o(5) = i(2) * (T)0.25;                                                                     \
} while (0)
#define SINTER_WINO4_AT(VT, T, i, o) do {                                                      \
    const VT p_ = i(1) + i(2), q_ = i(1) - i(2), r_ = i(3) + i(4), s_ = i(3) - i(4);           \
    o(0) = i(0) + p_ + r_;                                                                     \
    o(1) = q_ + (T)0.5 * s_;                                                                   \
    o(2) = p_ + (T)0.25 * r_;                                                                  \
    o(3) = q_ + (T)0.125 * s_ + i(5);                                                          \
} while (0)

/* The three 2-D transforms of F(m x m, 3 x 3), m = M_, n = N_ = M_ + 2, one vector of channels
 * at a time (the last vector may be partial: lanes past `nc` are zero and not stored). */
#define SINTER_DEFINE_WINO(T, SUF, VT, M_, N_)                                                 \
/* U[xi * us + o] = (G g G^T)[xi] for o < N, where filter o's tap (a, c) is g[a*sa + c*sc + o*so] */ \
static inline void sinter_wino##M_##_filter_##SUF(const T *g, long sa, long sc, long so, long N, \
        T *U, long us) {                                                                       \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    for (long o0 = 0; o0 < N; o0 += VW) {                                                      \
        const long nc = N - o0 < VW ? N - o0 : VW;                                             \
        SINTER_ALIGNED VT d[3][3], t[N_][3], u[N_][N_];                                        \
        for (int a = 0; a < 3; a++)                                                            \
            for (int c = 0; c < 3; c++) d[a][c] = sinter_wino_load_##SUF(g + a * sa + c * sc + o0 * so, so, nc); \
        for (int c = 0; c < 3; c++) SINTER_WINO##M_##_G(VT, T, SINTER_WINO_COL_IN_d, SINTER_WINO_COL_OUT_t); \
        for (int r = 0; r < N_; r++) SINTER_WINO##M_##_G(VT, T, SINTER_WINO_ROW_IN_t, SINTER_WINO_ROW_OUT_u); \
        for (int r = 0; r < N_; r++)                                                           \
            for (int c = 0; c < N_; c++) sinter_wino_store_##SUF(U + (r * N_ + c) * us + o0, u[r][c], nc); \
    }                                                                                          \
}                                                                                              \
/* V[xi * vs + k] = (B^T d B)[xi] for k < C, where d is the N_ x N_ tile of image x (H x W x C)  \
 * whose top-left element is (r0, q0); elements outside the image are zero. */                \
static inline void sinter_wino##M_##_input_##SUF(const T *x, long H, long W, long C, long r0,  \
        long q0, T *V, long vs) {                                                              \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    for (long k0 = 0; k0 < C; k0 += VW) {                                                      \
        const long nc = C - k0 < VW ? C - k0 : VW;                                             \
        SINTER_ALIGNED VT d[N_][N_], t[N_][N_], u[N_][N_];                                     \
        for (int a = 0; a < N_; a++) {                                                         \
            const long row = r0 + a;                                                           \
            for (int c = 0; c < N_; c++) {                                                     \
                const long col = q0 + c;                                                       \
                d[a][c] = row >= 0 && row < H && col >= 0 && col < W                           \
                    ? sinter_wino_load_##SUF(x + (row * W + col) * C + k0, 1, nc) : (VT){0};   \
            }                                                                                  \
        }                                                                                      \
        for (int c = 0; c < N_; c++) SINTER_WINO##M_##_BT(VT, T, SINTER_WINO_COL_IN_d, SINTER_WINO_COL_OUT_t); \
        for (int r = 0; r < N_; r++) SINTER_WINO##M_##_BT(VT, T, SINTER_WINO_ROW_IN_t, SINTER_WINO_ROW_OUT_u); \
        for (int r = 0; r < N_; r++)                                                           \
            for (int c = 0; c < N_; c++) sinter_wino_store_##SUF(V + (r * N_ + c) * vs + k0, u[r][c], nc); \
    }                                                                                          \
}                                                                                              \
/* y[i * ry + j * N + o] = (A^T Mx A)[i][j] for i < mi, j < mj, o < N, where Mx[xi] = Mt[xi * ms + o]. */ \
static inline void sinter_wino##M_##_output_##SUF(const T *Mt, long ms, long N, T *y, long ry,  \
        long mi, long mj) {                                                                    \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    for (long o0 = 0; o0 < N; o0 += VW) {                                                      \
        const long nc = N - o0 < VW ? N - o0 : VW;                                             \
        SINTER_ALIGNED VT d[N_][N_], t[M_][N_], u[M_][M_];                                     \
        for (int r = 0; r < N_; r++)                                                           \
            for (int c = 0; c < N_; c++) d[r][c] = sinter_wino_load_##SUF(Mt + (r * N_ + c) * ms + o0, 1, nc); \
        for (int c = 0; c < N_; c++) SINTER_WINO##M_##_AT(VT, T, SINTER_WINO_COL_IN_d, SINTER_WINO_COL_OUT_t); \
        for (int r = 0; r < M_; r++) SINTER_WINO##M_##_AT(VT, T, SINTER_WINO_ROW_IN_t, SINTER_WINO_ROW_OUT_u); \
        for (long i = 0; i < mi; i++)                                                          \
            for (long j = 0; j < mj; j++) sinter_wino_store_##SUF(y + i * ry + j * N + o0, u[i][j], nc); \
    }                                                                                          \
}

/* Element accessors for the 1-D transforms: down column c (d -> t) and along row r (t -> u). */
#define SINTER_WINO_COL_IN_d(k) d[k][c]
#define SINTER_WINO_COL_OUT_t(k) t[k][c]
#define SINTER_WINO_ROW_IN_t(k) t[r][k]
#define SINTER_WINO_ROW_OUT_u(k) u[r][k]

#define SINTER_DEFINE_WINOGRAD(T, SUF, VT)                                                     \
/* nc (<= one vector) elements p[0], p[stride], ...; the other lanes zero. */                 \
static inline VT sinter_wino_load_##SUF(const T *p, long stride, long nc) {                   \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    VT v = (VT){0};                                                                            \
    if (stride == 1 && nc == VW) memcpy(&v, p, sizeof(VT));                                    \
    else for (long l = 0; l < nc; l++) v[l] = p[l * stride];                                   \
    return v;                                                                                  \
}                                                                                              \
static inline void sinter_wino_store_##SUF(T *p, VT v, long nc) {                              \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    if (nc == VW) memcpy(p, &v, sizeof(VT));                                                   \
    else for (long l = 0; l < nc; l++) p[l] = v[l];                                            \
}                                                                                              \
SINTER_DEFINE_WINO(T, SUF, VT, 2, 4)                                                           \
SINTER_DEFINE_WINO(T, SUF, VT, 4, 6)                                                           \
/* The batched stage: for each of the n2 transform positions xi, over `tiles` tiles,            \
 * M[xi * ms + tile * N + o] = sum_k V[xi * vs + tile * K + k] * U[xi * K * N + k * N + o].      \
 * One GEMM per position through sinter_gemm.h; a packed GEMM can take its place here (U is the  \
 * same for every block of tiles of a call, so its panels could be packed once per call). */   \
static inline void sinter_wino_gemm_##SUF(long n2, long tiles, long K, long N, const T *V,    \
        long vs, const T *U, T *M, long ms) {                                                  \
    const sinter_kdims kd = {1, 1, K, 0, 0, 1, 0, 0, N};                                       \
    for (long xi = 0; xi < n2; xi++)                                                           \
        sinter_gemm_##SUF(tiles, N, &kd, V + xi * vs, K, U + xi * K * N, M + xi * ms, N, 0);   \
}

SINTER_DEFINE_WINOGRAD(float, f32, sinter_vf32)
SINTER_DEFINE_WINOGRAD(double, f64, sinter_vf64)

#endif
