/* Checks Codegen/sinter_gemm_packed.h; built and run by Tests/SinterTests/PackedGemmTests.swift
 * (once per target: AVX-512, AVX2 and the portable 16-byte path).
 *
 * For every case (shape, operand layouts, accumulate or not) it checks, in f32 and f64:
 *   1. the product against a naive f64 (long double for the f64 GEMM) reference, within the
 *      rounding-error bound K * eps * sum_k |a b| of any summation order;
 *   2. bit-equality with an independent scalar emulation of the documented summation order
 *      (per element and K block: a register from zero, one fused multiply-add per term in k
 *      order, then added to C), so the numerics contract is tested, not just "close enough";
 *   3. bit-equality of the task grids cut for 1, 2, 3 and 7 threads, run serially, and of the
 *      2-thread grid run by OpenMP threads (when built with -fopenmp);
 *   4. that C outside the M x N block (ldc > N) is never written, and that the blocks of the tasks
 *      (sinter_pgemm_task_block, where a fused epilogue would run) tile C exactly.
 * Prints one line per failure and a summary "checked N cases"; exits 1 on any failure.
 */
#include "sinter_gemm_packed.h"
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

static int failures = 0;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void) { /* splitmix64 -> [-1, 1) */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-52 - 1.0;
}

typedef struct {
    long M, N, K;
    int ta, tb;        /* A stored K x M, B stored N x K */
    int accumulate;
    long ldc_pad;      /* ldc = N + ldc_pad */
    long a_row_pad;    /* A rows further apart than K (a window of a bigger array) */
} gemm_case;

/* Whether the tasks' blocks (sinter_pgemm_task_block) cover every element of C exactly once. */
static int tiles_exactly(const sinter_pgemm_plan *p) {
    unsigned char *seen = calloc((size_t)(p->M * p->N + 1), 1);
    int ok = 1;
    for (long t = 0; t < sinter_pgemm_tasks(p); t++) {
        long m0, m1, n0, n1;
        sinter_pgemm_task_block(p, t, &m0, &m1, &n0, &n1);
        for (long m = m0; m < m1; m++)
            for (long n = n0; n < n1; n++) ok &= seen[m * p->N + n]++ == 0;
    }
    for (long i = 0; i < p->M * p->N; i++) ok &= seen[i] == 1;
    free(seen);
    return ok;
}

/* One instantiation per element type: T, the suffix, the reference type R, fma, epsilon. */
#define DEFINE_CHECK(T, SUF, R, FMA, EPS)                                                      \
static void run_##SUF(const gemm_case *g, const sinter_pgemm_plan *p, const T *A, long ars,   \
        long acs, const T *B, long brs, long bcs, T *C, long ldc, T *bp, int parallel) {      \
    if (parallel) {                                                                            \
        SINTER_PARALLEL_FOR                                                                    \
        for (long j = 0; j < p->panels; j++) sinter_pgemm_pack_b_##SUF(p, B, brs, bcs, bp, j, j + 1); \
        const long tasks = sinter_pgemm_tasks(p);                                              \
        SINTER_PARALLEL_FOR                                                                    \
        for (long t = 0; t < tasks; t++) sinter_pgemm_task_##SUF(p, t, A, ars, acs, bp, C, ldc, g->accumulate); \
    } else {                                                                                   \
        sinter_pgemm_pack_b_##SUF(p, B, brs, bcs, bp, 0, p->panels);                           \
        for (long t = 0; t < sinter_pgemm_tasks(p); t++)                                       \
            sinter_pgemm_task_##SUF(p, t, A, ars, acs, bp, C, ldc, g->accumulate);             \
    }                                                                                          \
}                                                                                              \
static void check_##SUF(const gemm_case *g) {                                                  \
    const long M = g->M, N = g->N, K = g->K, ldc = N + g->ldc_pad;                             \
    /* A element (m, k) at m*ars + k*acs; B element (k, n) at k*brs + n*bcs */                 \
    const long ars = g->ta ? 1 : K + g->a_row_pad, acs = g->ta ? M + g->a_row_pad : 1;         \
    const long brs = g->tb ? 1 : N, bcs = g->tb ? K : 1;                                       \
    const long asize = (g->ta ? K * acs : M * ars) + 1, bsize = K * N + 1, csize = M * ldc + 1; \
    T *A = malloc(sizeof(T) * asize), *B = malloc(sizeof(T) * bsize);                          \
    T *C0 = malloc(sizeof(T) * csize), *C = malloc(sizeof(T) * csize), *E = malloc(sizeof(T) * csize); \
    for (long i = 0; i < asize; i++) A[i] = (T)uniform();                                      \
    for (long i = 0; i < bsize; i++) B[i] = (T)uniform();                                      \
    for (long i = 0; i < csize; i++) C0[i] = (T)uniform();                                     \
    const sinter_pgemm_plan p1 = sinter_pgemm_plan_##SUF(M, N, K, 1);                          \
    T *bp = aligned_alloc(64, (sizeof(T) * (sinter_pgemm_packed_b_elems_##SUF(&p1) + 1) + 63) / 64 * 64); \
    /* 2. the emulated order (also the reference for 4.: untouched elements keep C0) */        \
    memcpy(E, C0, sizeof(T) * csize);                                                          \
    for (long m = 0; m < M; m++)                                                               \
        for (long n = 0; n < N; n++) {                                                         \
            if (K == 0 && !g->accumulate) E[m * ldc + n] = 0;                                  \
            for (long kb = 0; kb < p1.kblocks; kb++) {                                         \
                T acc = 0;                                                                     \
                for (long k = kb * p1.kc; k < K && k < (kb + 1) * p1.kc; k++)                  \
                    acc = FMA(A[m * ars + k * acs], B[k * brs + n * bcs], acc);                \
                E[m * ldc + n] = (kb == 0 && !g->accumulate) ? acc : E[m * ldc + n] + acc;     \
            }                                                                                  \
        }                                                                                      \
    long threads[] = {1, 2, 3, 7};                                                             \
    for (int ti = 0; ti < 5; ti++) {                                                           \
        const int parallel = ti == 4;                                                          \
        const sinter_pgemm_plan p = sinter_pgemm_plan_##SUF(M, N, K, parallel ? 2 : threads[ti]); \
        if (p.kc != p1.kc || p.kblocks != p1.kblocks) {                                        \
            printf("FAIL %s %ldx%ldx%ld: the K blocking depends on the thread count\n", #SUF, M, N, K); \
            failures++;                                                                        \
        }                                                                                      \
        if (!tiles_exactly(&p)) {                                                              \
            printf("FAIL %s %ldx%ldx%ld: the task blocks of %ld threads do not tile C\n", #SUF, M, N, K, \
                   parallel ? 2 : threads[ti]);                                                \
            failures++;                                                                        \
        }                                                                                      \
        memcpy(C, C0, sizeof(T) * csize);                                                      \
        run_##SUF(g, &p, A, ars, acs, B, brs, bcs, C, ldc, bp, parallel);                      \
        if (memcmp(C, E, sizeof(T) * csize) != 0) {                                            \
            long bad = 0;                                                                      \
            while (bad < csize && memcmp(&C[bad], &E[bad], sizeof(T)) == 0) bad++;             \
            printf("FAIL %s %ldx%ldx%ld ta=%d tb=%d acc=%d threads=%ld%s: element %ld is %.17g, " \
                   "the documented order gives %.17g\n", #SUF, M, N, K, g->ta, g->tb,            \
                   g->accumulate, parallel ? 2 : threads[ti], parallel ? " (OpenMP)" : "", bad,  \
                   (double)C[bad], (double)E[bad]);                                            \
            failures++;                                                                        \
            break;                                                                             \
        }                                                                                      \
    }                                                                                          \
    /* 1. against the wide reference, within the error bound of any order */                  \
    for (long m = 0; m < M; m++)                                                               \
        for (long n = 0; n < N; n++) {                                                         \
            R ref = g->accumulate ? (R)C0[m * ldc + n] : 0, mag = g->accumulate ? (R)(C0[m * ldc + n] < 0 ? -C0[m * ldc + n] : C0[m * ldc + n]) : 0; \
            for (long k = 0; k < K; k++) {                                                     \
                R t = (R)A[m * ars + k * acs] * (R)B[k * brs + n * bcs];                       \
                ref += t;                                                                      \
                mag += t < 0 ? -t : t;                                                         \
            }                                                                                  \
            R err = (R)C[m * ldc + n] - ref;                                                   \
            if (err < 0) err = -err;                                                           \
            if (!(err <= (R)(K + 2) * (R)EPS * mag)) {                                         \
                printf("FAIL %s %ldx%ldx%ld ta=%d tb=%d acc=%d: C[%ld,%ld] = %.17g, reference %.17g\n", \
                       #SUF, M, N, K, g->ta, g->tb, g->accumulate, m, n, (double)C[m * ldc + n], (double)ref); \
                failures++;                                                                    \
                m = M;                                                                         \
                break;                                                                         \
            }                                                                                  \
        }                                                                                      \
    free(A); free(B); free(C0); free(C); free(E); free(bp);                                    \
}

#if defined(__FMA__) || defined(__AVX512F__)
#define FMA_F32(a, b, c) __builtin_fmaf(a, b, c)
#define FMA_F64(a, b, c) __builtin_fma(a, b, c)
#else
#define FMA_F32(a, b, c) ((c) + (a) * (b))
#define FMA_F64(a, b, c) ((c) + (a) * (b))
#endif
DEFINE_CHECK(float, f32, double, FMA_F32, FLT_EPSILON)
DEFINE_CHECK(double, f64, long double, FMA_F64, DBL_EPSILON)

int main(void) {
    const long NR = sinter_pgemm_plan_f32(1, 1, 1, 1).nr, MR = SINTER_PG_MR, KC = SINTER_PG_KC_MAX;
    /* M, N, K: 1 and primes; one less / one more than a tile, a K block and several K blocks;
     * few panels (A read in place) and many (A packed); few rows (tasks cut along N) and many. */
    const long shapes[][3] = {
        {1, 1, 1}, {17, 33, 65}, {MR, NR, 8}, {MR - 1, NR + 1, KC - 1}, {MR + 1, NR - 1, KC + 1},
        {3, 5 * NR + 3, 2 * KC + 5}, {2 * MR + 5, 4 * NR + 7, 3}, {40, 7, 600}, {1, 300, 70},
        {100, 130, 300}, {5, 2, 0}, {0, 4, 3}, {4, 0, 3},
    };
    const int nshapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    long cases = 0;
    for (int s = 0; s < nshapes; s++)
        for (int layout = 0; layout < 4; layout++)
            for (int accumulate = 0; accumulate < 2; accumulate++) {
                gemm_case g = {shapes[s][0], shapes[s][1], shapes[s][2], layout & 1, (layout >> 1) & 1,
                               accumulate, s % 3 == 1 ? 3 : 0, s % 2 == 1 ? 5 : 0};
                check_f32(&g);
                check_f64(&g);
                cases++;
            }
    printf("checked %ld cases (MR %ld, NR %ld floats, KC_MAX %ld)\n", cases, MR, NR, KC);
    return failures ? 1 : 0;
}
