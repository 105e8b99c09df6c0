/* Prototype: a 3x3 stride-1 "same" convolution (NHWC x HWIO, as Sinter's conv2d) through the
 * packed GEMM of Codegen/sinter_gemm_packed.h, timed beside the window GEMM that
 * ConvKernels.emitForward generates today (sinter_gemm.h, one call per output row and column
 * group), in the same process, alternating.
 *
 * The packed version is the product y[pixels, co] = im2col(x)[pixels, 9 ci] x w[9 ci, co]:
 *   - B = the weights, packed once per call (a training step would pack them once per step);
 *   - K blocks of one tap row each (kc = 3 ci), so a block of A is 3 ci contiguous values of x;
 *   - A micro-panels (12 pixels) read in place from x when they lie in one output row, away from
 *     the borders (`direct`), else packed by an implicit im2col (contiguous copies, zeros for the
 *     padding);
 *   - tasks and summation order as sinter_pgemm_task (the results are bit-identical whatever the
 *     thread count).
 *
 * Shapes are compile-time constants, as in generated code:
 *   cc -O3 -march=native -std=c11 -fno-strict-aliasing -fopenmp -ICodegen \
 *      -DCONV_N=32 -DCONV_H=56 -DCONV_W=56 -DCONV_CI=64 -DCONV_CO=64 \
 *      Tests/Benchmarks/packed_conv_bench.c -o packed_conv_bench
 *   OMP_NUM_THREADS=2 ./packed_conv_bench [ITERS]
 * Prints one JSON line per variant (best and median wall time; least process CPU time, all
 * threads, of one call) and the largest difference between the variants' results.
 */
#define _POSIX_C_SOURCE 200809L
#include "sinter_gemm.h"
#include "sinter_gemm_packed.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = CONV_N, H = CONV_H, W = CONV_W, CI = CONV_CI, CO = CONV_CO, KH = 3, KW = 3, PAD = 1 };

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Today's kernel: per output row, one window GEMM per group of columns with the same valid taps. */
static void conv_window(const float *x, const float *w, float *y) {
    SINTER_PARALLEL_FOR
    for (long r = 0; r < N * H; r++) {
        const long b = r / H, i = r % H;
        long a_lo = sinter_maxl(0, PAD - i), a_hi = sinter_minl(KH, H + PAD - i);
        if (a_hi < a_lo) a_hi = a_lo;
        const float *xrow = x + (b * H + (i + a_lo - PAD)) * W * CI;
        const float *wrow = w + a_lo * KW * CI * CO;
        float *yrow = y + r * W * CO;
        /* columns 0 (taps 1..2), 1..W-2 (all taps), W-1 (taps 0..1) */
        const long groups[3][4] = {{0, 1, 1, 3}, {1, W - 1, 0, 3}, {W - 1, W, 0, 2}};
        for (int g = 0; g < 3; g++) {
            const long j0 = groups[g][0], j1 = groups[g][1], c_lo = groups[g][2], nc = groups[g][3] - c_lo;
            const sinter_kdims kd = {a_hi - a_lo, 1, nc * CI, W * CI, 0, 1, KW * CI * CO, 0, CO};
            sinter_gemm_f32(j1 - j0, CO, &kd, xrow + (j0 + c_lo - PAD) * CI, CI, wrow + c_lo * CI * CO,
                            yrow + j0 * CO, CO, 0);
        }
    }
}

/* Rows [m, m+mr) (pixels) x K block [k0, k0+kcb) of im2col(x), in the rows layout of
 * sinter_pg_pack_a (rows of SINTER_PG_KC_MAX values); rows from mr on are zero. */
static void im2col_pack(const float *x, long m, long mr, long k0, long kcb, float *restrict ap) {
    const long rowk = KW * CI;
    for (long r = 0; r < SINTER_PG_MR; r++) {
        float *dst = ap + r * SINTER_PG_KC_MAX;
        if (r >= mr) {
            memset(dst, 0, (size_t)kcb * sizeof(float));
            continue;
        }
        const long pix = m + r, b = pix / (H * W), i = pix % (H * W) / W, j = pix % W;
        for (long k = k0; k < k0 + kcb;) {
            const long a = k / rowk, q = k % rowk, len = sinter_minl(rowk - q, k0 + kcb - k), h = i + a - PAD;
            float *d = dst + (k - k0);
            const long c0 = j - PAD; /* input column of q = 0 */
            const long qlo = sinter_maxl(q, -c0 * CI), qhi = sinter_minl(q + len, (W - c0) * CI);
            if (h < 0 || h >= H || qlo >= qhi) {
                memset(d, 0, (size_t)len * sizeof(float));
            } else {
                memset(d, 0, (size_t)(qlo - q) * sizeof(float));
                memcpy(d + (qlo - q), x + ((b * H + h) * W + c0) * CI + qlo, (size_t)(qhi - qlo) * sizeof(float));
                memset(d + (qhi - q), 0, (size_t)(q + len - qhi) * sizeof(float));
            }
            k += len;
        }
    }
}

/* A in place: 12 consecutive pixels of one input row, CI apart. */
#define CONV_DIRECT_AIDX(r, k) ((r) * CI + (k))
SINTER_DEFINE_PG_MICRO(float, f32, sinter_vf32, conv_micro_direct, CONV_DIRECT_AIDX)

static void conv_packed(const float *x, const float *w, float *y, float *bp, int direct) {
    enum { MR = SINTER_PG_MR, M = N * H * W, K = KH * KW * CI };
    const sinter_pgemm_plan p0 = sinter_pgemm_plan_f32(M, CO, K, sinter_threads());
    sinter_pgemm_plan p = p0;
    if (KW * CI <= SINTER_PG_KC_MAX) { /* one tap row per K block (fixed by the shapes) */
        p.kc = KW * CI;
        p.kblocks = KH;
    }
    SINTER_PARALLEL_FOR
    for (long j = 0; j < p.panels; j++) sinter_pgemm_pack_b_f32(&p, w, CO, 1, bp, j, j + 1);
    const long tasks = sinter_pgemm_tasks(&p), NR = p.nr;
    SINTER_PARALLEL_FOR
    for (long t = 0; t < tasks; t++) {
        long m0, m1, n0, n1;
        sinter_pgemm_task_block(&p, t, &m0, &m1, &n0, &n1);
        SINTER_ALIGNED float ap[SINTER_PG_KC_MAX * MR];
        for (long m = m0; m < m1; m += MR) {
            const long mr = sinter_minl(MR, m1 - m), b = m / (H * W), i = m % (H * W) / W, j = m % W;
            for (long kb = 0; kb < p.kblocks; kb++) {
                const long k0 = kb * p.kc, kcb = sinter_minl(p.kc, K - k0), h = i + k0 / (KW * CI) - PAD;
                const float *bblock = bp + k0 * p.panels * NR;
                const int inside = direct && mr == MR && kcb == KW * CI && k0 % (KW * CI) == 0 && j >= PAD &&
                                   j + MR - 1 + KW - PAD <= W && h >= 0 && h < H;
                if (inside) {
                    const float *arow = x + ((b * H + h) * W + j - PAD) * CI;
                    for (long jp = n0 / NR; jp < (n1 + NR - 1) / NR; jp++)
                        conv_micro_direct(kcb, arow, bblock + jp * kcb * NR, y + m * CO + jp * NR, CO, kb == 0, mr,
                                          sinter_minl(NR, CO - jp * NR));
                } else {
                    im2col_pack(x, m, mr, k0, kcb, ap);
                    for (long jp = n0 / NR; jp < (n1 + NR - 1) / NR; jp++)
                        sinter_pg_micro_rows_f32(kcb, ap, bblock + jp * kcb * NR, y + m * CO + jp * NR, CO, kb == 0, mr,
                                                 sinter_minl(NR, CO - jp * NR));
                }
            }
        }
    }
}

static int compare_doubles(const void *a, const void *b) {
    double u = *(const double *)a, v = *(const double *)b;
    return u < v ? -1 : u > v;
}

int main(int argc, char **argv) {
    const int iters = argc > 1 ? atoi(argv[1]) : 5;
    if (iters <= 0) return 2;
    const long xs = (long)N * H * W * CI, ws = (long)KH * KW * CI * CO, ys = (long)N * H * W * CO;
    const sinter_pgemm_plan p = sinter_pgemm_plan_f32(N * H * W, CO, KH * KW * CI, 1);
    float *x = aligned_alloc(64, (xs * 4 + 63) / 64 * 64), *w = aligned_alloc(64, (ws * 4 + 63) / 64 * 64);
    float *y[3], *bp = aligned_alloc(64, (sinter_pgemm_packed_b_elems_f32(&p) * 4 + 63) / 64 * 64 + 64);
    for (int v = 0; v < 3; v++) y[v] = aligned_alloc(64, (ys * 4 + 63) / 64 * 64);
    for (long i = 0; i < xs; i++) x[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
    for (long i = 0; i < ws; i++) w[i] = (float)((i * 104729) % 1000) / 1000 - 0.5f;
    const char *names[3] = {"window_gemm", "packed_im2col", "packed_direct_interior"};
    double *times[3], cpu[3] = {1e30, 1e30, 1e30};
    for (int v = 0; v < 3; v++) times[v] = malloc(sizeof(double) * iters);
    for (int it = -1; it < iters; it++) /* iteration -1 warms up */
        for (int v = 0; v < 3; v++) {
            const double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
            if (v == 0) conv_window(x, w, y[0]);
            else conv_packed(x, w, y[v], bp, v == 2);
            if (it < 0) continue;
            times[v][it] = seconds(CLOCK_MONOTONIC) - t0;
            const double c = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (c < cpu[v]) cpu[v] = c;
        }
    const double flops = 2.0 * N * H * W * CO * KH * KW * CI;
    double worst = 0, largest = 0;
    for (long i = 0; i < ys; i++) {
        for (int v = 1; v < 3; v++) {
            const double d = y[v][i] > y[0][i] ? y[v][i] - y[0][i] : y[0][i] - y[v][i];
            if (d > worst) worst = d;
        }
        if ((y[0][i] < 0 ? -y[0][i] : y[0][i]) > largest) largest = y[0][i] < 0 ? -y[0][i] : y[0][i];
    }
    for (int v = 0; v < 3; v++) {
        qsort(times[v], iters, sizeof(double), compare_doubles);
        printf("{\"bench\": \"conv3x3\", \"variant\": \"%s\", \"shape\": \"%dx%dx%dx%d*3x3x%dx%d\", \"threads\": %ld, "
               "\"min_ms\": %.2f, \"median_ms\": %.2f, \"min_cpu_ms\": %.2f, \"gflops_best\": %.1f, "
               "\"gflops_per_cpu_s\": %.1f}\n", names[v], N, H, W, CI, CI, CO, sinter_threads(), times[v][0] * 1e3,
               times[v][iters / 2] * 1e3, cpu[v] * 1e3, flops / times[v][0] / 1e9, flops / cpu[v] / 1e9);
    }
    printf("{\"largest_difference\": %g, \"largest_value\": %g}\n", worst, largest);
    return worst <= 1e-5 * largest * KH * KW * CI ? 0 : 1;
}
