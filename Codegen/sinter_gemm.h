/* Sinter GEMM: the one inner loop behind matmul and every convolution.
 *
 *   C[m*ldc + n] (+)= sum_k A[m*rsa + off_a(k)] * B[off_b(k) + n]      m < M, n < N
 *
 * The reduction index k runs over up to three nested dimensions, outermost first,
 * k = (k2, k1, k0) in [0,n2) x [0,n1) x [0,n0), with
 *   off_a(k) = k2*a2 + k1*a1 + k0*a0   and   off_b(k) = k2*b2 + k1*b1 + k0*b0
 * (any strides, negative ones included). That lets a convolution hand over a whole window
 * (rows of taps x contiguous (tap, channel) runs) or a whole batch of rows as one reduction
 * without copying anything: B rows must be contiguous in n, A is read one scalar at a time.
 *
 * `accumulate` = 0 overwrites C, 1 adds to it. K may be empty (then C is zeroed or unchanged).
 *
 * Summation order (deterministic, independent of threads): for each C element, the reduction
 * is split into chunks of consecutive k2 (sized from the shapes only); within a chunk terms are
 * added in k order into a register accumulator, which is then added to C (or stored, for the
 * first chunk when not accumulating). Vector blocks use fused multiply-adds (one rounding per
 * term); the scalar tail (fewer columns than one vector) uses plain a*b+c.
 *
 * Register blocking: an MR x (NV vectors) block of C is kept in registers (MR <= 6, NV <= 2)
 * using the vector types of sinter_simd.h (AVX-512, AVX or SSE).
 */
#ifndef SINTER_GEMM_H
#define SINTER_GEMM_H
#include "sinter_prelude.h"
#include "sinter_simd.h"

typedef struct {
    long n2, n1, n0; /* extents, outermost first */
    long a2, a1, a0; /* A strides */
    long b2, b1, b0; /* B strides */
} sinter_kdims;

/* Micro-kernel: MR rows x NV vectors of C, k2 in [k2lo, k2hi). */
#define SINTER_DEFINE_MICRO(T, SUF, VT, MR, NV)                                                 \
static inline void sinter_micro_##SUF##_##MR##x##NV(const sinter_kdims *kd, long k2lo,        \
        long k2hi, const T *A, long rsa, const T *B, T *C, long ldc, int accumulate) {         \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    SINTER_ALIGNED VT acc[MR][NV];                                                                           \
    for (int r = 0; r < MR; r++)                                                                \
        for (int v = 0; v < NV; v++) acc[r][v] = (VT){0};                                       \
    const long n1 = kd->n1, n0 = kd->n0, a0 = kd->a0, b0 = kd->b0;                              \
    for (long k2 = k2lo; k2 < k2hi; k2++) {                                                     \
        for (long k1 = 0; k1 < n1; k1++) {                                                      \
            const T *pa = A + k2 * kd->a2 + k1 * kd->a1;                                        \
            const T *pb = B + k2 * kd->b2 + k1 * kd->b1;                                        \
            for (long k0 = 0; k0 < n0; k0++) {                                                  \
                SINTER_ALIGNED VT bv[NV];                                                                    \
                for (int v = 0; v < NV; v++) memcpy(&bv[v], pb + k0 * b0 + v * VW, sizeof(VT)); \
                for (int r = 0; r < MR; r++) {                                                  \
                    const VT s = (VT){0} + pa[r * rsa + k0 * a0];                               \
                    for (int v = 0; v < NV; v++) acc[r][v] = sinter_vfma_##SUF(acc[r][v], s, bv[v]); \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int r = 0; r < MR; r++) {                                                              \
        for (int v = 0; v < NV; v++) {                                                          \
            T *pc = C + r * ldc + v * VW;                                                       \
            if (accumulate) {                                                                   \
                VT old;                                                                         \
                memcpy(&old, pc, sizeof(VT));                                                   \
                acc[r][v] += old;                                                               \
            }                                                                                   \
            memcpy(pc, &acc[r][v], sizeof(VT));                                                 \
        }                                                                                       \
    }                                                                                           \
}

/* Scalar tail: every row, nn (< one vector) columns. Four rows at a time so four independent
 * accumulator chains are in flight; each element still sums its terms in k order. */
#define SINTER_DEFINE_TAIL(T, SUF)                                                              \
static inline void sinter_tail_##SUF(long M, long nn, const sinter_kdims *kd, long k2lo,       \
        long k2hi, const T *A, long rsa, const T *B, T *C, long ldc, int accumulate) {         \
    const long n1 = kd->n1, n0 = kd->n0, a0 = kd->a0, b0 = kd->b0;                              \
    for (long n = 0; n < nn; n++) {                                                             \
        const long blocks = M / 4, rest = M % 4;                                                \
        for (long blk = 0; blk < blocks; blk++) {                                               \
            const long m = 4 * blk;                                                             \
            T c0 = 0, c1 = 0, c2 = 0, c3 = 0;                                                   \
            for (long k2 = k2lo; k2 < k2hi; k2++)                                               \
                for (long k1 = 0; k1 < n1; k1++) {                                              \
                    const T *pa = A + m * rsa + k2 * kd->a2 + k1 * kd->a1;                      \
                    const T *pb = B + k2 * kd->b2 + k1 * kd->b1 + n;                            \
                    for (long k0 = 0; k0 < n0; k0++) {                                          \
                        const T b = pb[k0 * b0];                                                \
                        c0 += pa[k0 * a0] * b;                                                  \
                        c1 += pa[rsa + k0 * a0] * b;                                            \
                        c2 += pa[2 * rsa + k0 * a0] * b;                                        \
                        c3 += pa[3 * rsa + k0 * a0] * b;                                        \
                    }                                                                           \
                }                                                                               \
            T *pc = C + m * ldc + n;                                                            \
            if (accumulate) { c0 += pc[0]; c1 += pc[ldc]; c2 += pc[2 * ldc]; c3 += pc[3 * ldc]; } \
            pc[0] = c0; pc[ldc] = c1; pc[2 * ldc] = c2; pc[3 * ldc] = c3;                       \
        }                                                                                       \
        for (long r = 0; r < rest; r++) {                                                       \
            const long m = 4 * blocks + r;                                                      \
            T acc = 0;                                                                          \
            for (long k2 = k2lo; k2 < k2hi; k2++)                                               \
                for (long k1 = 0; k1 < n1; k1++) {                                              \
                    const T *pa = A + m * rsa + k2 * kd->a2 + k1 * kd->a1;                      \
                    const T *pb = B + k2 * kd->b2 + k1 * kd->b1 + n;                            \
                    for (long k0 = 0; k0 < n0; k0++) acc += pa[k0 * a0] * pb[k0 * b0];          \
                }                                                                               \
            C[m * ldc + n] = accumulate ? C[m * ldc + n] + acc : acc;                           \
        }                                                                                       \
    }                                                                                           \
}

#define SINTER_DEFINE_GEMM(T, SUF, VT)                                                          \
SINTER_DEFINE_MICRO(T, SUF, VT, 6, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 5, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 4, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 3, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 2, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 1, 2)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 6, 1)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 5, 1)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 4, 1)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 3, 1)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 2, 1)                                                           \
SINTER_DEFINE_MICRO(T, SUF, VT, 1, 1)                                                           \
SINTER_DEFINE_TAIL(T, SUF)                                                                      \
static inline void sinter_rows_##SUF(int nv, long M, const sinter_kdims *kd, long k2lo,        \
        long k2hi, const T *A, long rsa, const T *B, T *C, long ldc, int acc) {                \
    long m = 0;                                                                                 \
    if (nv == 2) {                                                                              \
        for (; m + 6 <= M; m += 6)                                                              \
            sinter_micro_##SUF##_6x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); \
        switch (M - m) {                                                                        \
        case 5: sinter_micro_##SUF##_5x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 4: sinter_micro_##SUF##_4x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 3: sinter_micro_##SUF##_3x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 2: sinter_micro_##SUF##_2x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 1: sinter_micro_##SUF##_1x2(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        default: break;                                                                         \
        }                                                                                       \
    } else {                                                                                    \
        for (; m + 6 <= M; m += 6)                                                              \
            sinter_micro_##SUF##_6x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); \
        switch (M - m) {                                                                        \
        case 5: sinter_micro_##SUF##_5x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 4: sinter_micro_##SUF##_4x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 3: sinter_micro_##SUF##_3x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 2: sinter_micro_##SUF##_2x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        case 1: sinter_micro_##SUF##_1x1(kd, k2lo, k2hi, A + m * rsa, rsa, B, C + m * ldc, ldc, acc); break; \
        default: break;                                                                         \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
static inline void sinter_gemm_##SUF(long M, long N, const sinter_kdims *kd, const T *A,      \
        long rsa, const T *B, T *C, long ldc, int accumulate) {                                 \
    enum { VW = (int)(sizeof(VT) / sizeof(T)) };                                               \
    if (M <= 0 || N <= 0) return;                                                               \
    sinter_kdims k = *kd;                                                                       \
    if (k.n2 <= 0 || k.n1 <= 0 || k.n0 <= 0) { k.n2 = 0; }                                      \
    /* chunk k2 so one chunk of B (kc rows of one column panel) stays in cache */              \
    long inner = k.n1 * k.n0 > 0 ? k.n1 * k.n0 : 1;                                             \
    long chunk = 2048 / inner;                                                                  \
    if (chunk < 1) chunk = 1;                                                                   \
    long k2lo = 0;                                                                              \
    do {                                                                                        \
        long k2hi = k2lo + chunk < k.n2 ? k2lo + chunk : k.n2;                                  \
        int acc = accumulate || k2lo > 0;                                                       \
        long n = 0;                                                                             \
        for (; n + 2 * VW <= N; n += 2 * VW)                                                    \
            sinter_rows_##SUF(2, M, &k, k2lo, k2hi, A, rsa, B + n, C + n, ldc, acc);            \
        for (; n + VW <= N; n += VW)                                                            \
            sinter_rows_##SUF(1, M, &k, k2lo, k2hi, A, rsa, B + n, C + n, ldc, acc);            \
        for (; n < N; n += 64) {                                                                \
            long nn = N - n < 64 ? N - n : 64;                                                  \
            sinter_tail_##SUF(M, nn, &k, k2lo, k2hi, A, rsa, B + n, C + n, ldc, acc);           \
        }                                                                                       \
        k2lo = k2hi;                                                                            \
    } while (k2lo < k.n2);                                                                      \
}

SINTER_DEFINE_GEMM(float, f32, sinter_vf32)
SINTER_DEFINE_GEMM(double, f64, sinter_vf64)

#endif
