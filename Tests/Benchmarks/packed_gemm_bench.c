/* Times Codegen/sinter_gemm_packed.h on one M x N x K float product, the way generated code
 * calls it: B packed by a parallel loop over panels, then a parallel loop over the plan's tasks
 * (OpenMP, OMP_NUM_THREADS threads), packing included in every call. With `old` as the last
 * argument it times today's matmul kernel instead (MatmulKernels.swift: a transposed B copied to
 * K x N, then sinter_gemm.h on blocks of 48 rows in parallel).
 *
 * Build (from the repository root):
 *   cc -O3 -march=native -std=c11 -fno-strict-aliasing -fopenmp -ICodegen \
 *      Tests/Benchmarks/packed_gemm_bench.c -o packed_gemm_bench
 * Run: OMP_NUM_THREADS=2 ./packed_gemm_bench M N K [ITERS] [ta tb] [old]
 * Prints one JSON line: best and median wall time of ITERS timed calls after 3 warm-up calls, and
 * the least CPU time of the process (all threads, spinning included) that one call took.
 * Tests/Benchmarks/packed_gemm_vs_numpy.py races it against numpy's BLAS, alternating.
 */
#define _POSIX_C_SOURCE 200809L
#include "sinter_gemm.h"
#include "sinter_gemm_packed.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void gemm(long M, long N, long K, const float *A, long ars, long acs, const float *B, long brs,
                 long bcs, float *C, float *bp) {
    const sinter_pgemm_plan p = sinter_pgemm_plan_f32(M, N, K, sinter_threads());
    SINTER_PARALLEL_FOR
    for (long j = 0; j < p.panels; j++) sinter_pgemm_pack_b_f32(&p, B, brs, bcs, bp, j, j + 1);
    const long tasks = sinter_pgemm_tasks(&p);
    SINTER_PARALLEL_FOR
    for (long t = 0; t < tasks; t++) sinter_pgemm_task_f32(&p, t, A, ars, acs, bp, C, N, 0);
}

static void gemm_old(long M, long N, long K, const float *A, long ars, long acs, const float *B, long brs,
                     long bcs, float *C, float *bt) {
    if (bcs != 1) { /* b is N x K: copy to K x N */
        for (long n = 0; n < N; n++)
            for (long k = 0; k < K; k++) bt[k * N + n] = B[k * brs + n * bcs];
        B = bt;
    }
    const long blocks = (M + 47) / 48;
    const sinter_kdims kd = {1, 1, K, 0, 0, acs, 0, 0, N};
    SINTER_PARALLEL_FOR
    for (long task = 0; task < blocks; task++) {
        const long m0 = task * 48, mn = M - m0 < 48 ? M - m0 : 48;
        sinter_gemm_f32(mn, N, &kd, A + m0 * ars, ars, B, C + m0 * N, N, 0);
    }
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s M N K [ITERS] [ta tb] [old]\n", argv[0]);
        return 2;
    }
    const long M = atol(argv[1]), N = atol(argv[2]), K = atol(argv[3]);
    const int iters = argc > 4 ? atoi(argv[4]) : 10;
    const int ta = argc > 5 && atoi(argv[5]), tb = argc > 6 && atoi(argv[6]);
    const int old = argc > 7 && strcmp(argv[7], "old") == 0;
    if (M <= 0 || N <= 0 || K <= 0 || iters <= 0) {
        fprintf(stderr, "M, N, K and ITERS must be positive\n");
        return 2;
    }
    const long ars = ta ? 1 : K, acs = ta ? M : 1, brs = tb ? 1 : N, bcs = tb ? K : 1;
    const sinter_pgemm_plan p = sinter_pgemm_plan_f32(M, N, K, sinter_threads());
    float *A = aligned_alloc(64, (M * K * 4 + 63) / 64 * 64), *B = aligned_alloc(64, (K * N * 4 + 63) / 64 * 64);
    float *C = aligned_alloc(64, (M * N * 4 + 63) / 64 * 64);
    float *bp = aligned_alloc(64, (sinter_pgemm_packed_b_elems_f32(&p) * 4 + 63) / 64 * 64 + 64);
    for (long i = 0; i < M * K; i++) A[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
    for (long i = 0; i < K * N; i++) B[i] = (float)((i * 104729) % 1000) / 1000 - 0.5f;
#define RUN() (old ? gemm_old(M, N, K, A, ars, acs, B, brs, bcs, C, bp) : gemm(M, N, K, A, ars, acs, B, brs, bcs, C, bp))
    for (int w = 0; w < 3; w++) RUN();
    double *times = malloc(sizeof(double) * iters), cpu = 1e30;
    for (int it = 0; it < iters; it++) {
        const double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        RUN();
        times[it] = seconds(CLOCK_MONOTONIC) - t0;
        const double c = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (c < cpu) cpu = c;
    }
    qsort(times, iters, sizeof(double), compare_doubles);
    /* one element against a double-precision dot product: the run computed something */
    const long m = M / 3, n = N / 2;
    double ref = 0, mag = 0;
    for (long k = 0; k < K; k++) {
        const double t = (double)A[m * ars + k * acs] * B[k * brs + n * bcs];
        ref += t;
        mag += t < 0 ? -t : t;
    }
    const int ok = C[m * N + n] - ref <= K * 1.2e-7 * mag && ref - C[m * N + n] <= K * 1.2e-7 * mag;
    const double flops = 2.0 * M * N * K;
    printf("{\"bench\": \"%s\", \"M\": %ld, \"N\": %ld, \"K\": %ld, \"ta\": %d, \"tb\": %d, \"threads\": %ld, "
           "\"tasks\": %ld, \"kc\": %ld, \"mr\": %ld, \"nr\": %ld, \"min_ms\": %.3f, \"median_ms\": %.3f, \"min_cpu_ms\": %.3f, "
           "\"gflops_best\": %.1f, \"gflops_median\": %.1f, \"check\": \"%s\"}\n",
           old ? "window_gemm" : "packed_gemm", M, N, K, ta, tb, sinter_threads(), sinter_pgemm_tasks(&p), p.kc, p.mr, p.nr, times[0] * 1e3,
           times[iters / 2] * 1e3, cpu * 1e3, flops / times[0] / 1e9, flops / times[iters / 2] / 1e9, ok ? "ok" : "WRONG");
    free(A); free(B); free(C); free(bp); free(times);
    return ok ? 0 : 1;
}
