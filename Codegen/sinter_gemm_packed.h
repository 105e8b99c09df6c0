/* Sinter packed GEMM: a cache-blocked matrix product for the large matmuls and convolutions.
 *
 *   C[m*ldc + n] (+)= sum_k A[m*ars + k*acs] * B[k*brs + n*bcs]      m < M, n < N, k < K
 *
 * Any strides, so A and B may each be row-major or transposed; C rows are contiguous.
 *
 * Use (every name below with the _f32 or _f64 suffix):
 *
 *   sinter_pgemm_plan p = sinter_pgemm_plan_f32(M, N, K, sinter_threads());
 *   float *bp = scratch;    // sinter_pgemm_packed_b_elems_f32(&p) floats, 64-byte aligned
 *   SINTER_PARALLEL_FOR
 *   for (long j = 0; j < p.panels; j++) sinter_pgemm_pack_b_f32(&p, B, brs, bcs, bp, j, j + 1);
 *   const long tasks = sinter_pgemm_tasks(&p);
 *   SINTER_PARALLEL_FOR
 *   for (long t = 0; t < tasks; t++) sinter_pgemm_task_f32(&p, t, A, ars, acs, bp, C, ldc, accumulate);
 *
 * (Or without the pragmas and with 1 thread: the same bits either way, see "Threads".) Packed B
 * never needs more than K * roundup(N * sizeof(T), SINTER_PG_PANEL_BYTES_MAX) bytes, whatever the
 * target, so scratch can be sized before the vector width is known.
 *
 * Packing and blocking. B is copied once into panels of NR columns, K block by K block (layout
 * below), zero-padded to whole panels, so the micro-kernel reads it with aligned vector loads in
 * the order it uses it. A is copied one MR-row micro-panel of one K block at a time into a buffer
 * on the stack that stays in L1 while the micro-kernel sweeps the B panels of one N block (about
 * SINTER_PG_L2_BYTES of packed B, which stays in L2); every copy moves contiguous values when A
 * is row-major (rows layout) or transposed (k-major layout). The next micro-panel of A is
 * prefetched a slice per tile while the current one runs.
 *
 * Register tile: MR rows x NR = NV vectors of C in registers (AVX-512: 12 x 32 floats or 12 x 16
 * doubles; AVX2 6 x 16 floats; 16-byte vectors 6 x 8 floats). Every term is a vector fused
 * multiply-add (sinter_simd.h; a multiply then an add where the target has no FMA), edge rows
 * and columns included (padding rows and columns are computed and dropped).
 *
 * Summation order, fixed by K alone: K is split into `kblocks` consecutive blocks of `kc` terms
 * (the last one may be shorter). For each C element and each K block in ascending order, the
 * block's terms are accumulated in k order into a register starting from zero, and the register
 * is then added to C (stored instead, for the first block when not accumulating). That is the
 * numerics contract of sinter_gemm.h (chunks of consecutive k, sized from the shapes only).
 *
 * Threads. A task is a block of rows x a block of N panels of C. Tasks write disjoint parts of C
 * and how C is cut into tasks changes no element's summation order, so the plan may use the
 * thread count to balance the tasks and the results are still bit-identical whatever the thread
 * count and whichever thread runs which task.
 *
 * Packed B layout: K block b (rows k0 = b*kc .. k0+kcb-1) starts at element k0 * panels * NR;
 * within it, panel j (columns j*NR ..) starts at j * kcb * NR and holds kcb rows of NR values.
 */
#ifndef SINTER_GEMM_PACKED_H
#define SINTER_GEMM_PACKED_H
#include "sinter_prelude.h"
#include "sinter_simd.h"

/* Rows of the register tile (NV = 2 vectors of columns). */
#ifndef SINTER_PG_MR
#if SINTER_VBYTES == 64
#define SINTER_PG_MR 12
#else
#define SINTER_PG_MR 6
#endif
#endif
#define SINTER_PG_NV 2
/* Widest B panel of any target: 2 vectors of 64 bytes. */
#define SINTER_PG_PANEL_BYTES_MAX 128
/* Longest K block. The A micro-panel (kc x MR) stays in L1 (12 KB of floats with AVX-512). */
#ifndef SINTER_PG_KC_MAX
#define SINTER_PG_KC_MAX 256
#endif
/* Bytes of one K block of packed B that the micro-kernels sweep from L2 (an N block). */
#ifndef SINTER_PG_L2_BYTES
#define SINTER_PG_L2_BYTES (512 * 1024)
#endif
/* Rows of C per task, about: enough to reuse each K block of packed B many times. */
#ifndef SINTER_PG_TASK_ROWS
#define SINTER_PG_TASK_ROWS 192
#endif

typedef struct {
    long M, N, K;
    long kc, kblocks;    /* K blocks: kblocks blocks of kc terms, the last one maybe shorter */
    long mr, nr;         /* register tile */
    long mpanels, panels; /* MR-row panels of A and C, NR-column panels of B and C */
    long nc_panels;      /* panels per N block: a K block of that many panels stays in L2 */
    long mtasks, ntasks; /* tasks: mtasks row blocks x ntasks panel blocks */
} sinter_pgemm_plan;

/* The blocking of an M x N x K product for a tile of mr x nr. Only kc and kblocks decide the
 * arithmetic, and they depend on K alone; the task grid is cut for `threads`. */
static inline sinter_pgemm_plan sinter_pgemm_plan_tile(long M, long N, long K, long mr, long nr, long elem, long threads) {
    sinter_pgemm_plan p;
    p.M = M > 0 ? M : 0;
    p.N = N > 0 ? N : 0;
    p.K = K > 0 ? K : 0;
    p.mr = mr;
    p.nr = nr;
    /* equal K blocks, a multiple of 8 long when there are several */
    p.kblocks = (p.K + SINTER_PG_KC_MAX - 1) / SINTER_PG_KC_MAX;
    p.kc = p.kblocks > 0 ? (p.K + p.kblocks - 1) / p.kblocks : 0;
    if (p.kblocks > 1) {
        p.kc = (p.kc + 7) / 8 * 8;
        p.kblocks = (p.K + p.kc - 1) / p.kc;
    }
    p.mpanels = (p.M + mr - 1) / mr;
    p.panels = (p.N + nr - 1) / nr;
    p.nc_panels = SINTER_PG_L2_BYTES / ((p.kc > 0 ? p.kc : 1) * nr * elem);
    if (p.nc_panels < 1) p.nc_panels = 1;
    if (threads < 1) threads = 1;
    const long per_task = SINTER_PG_TASK_ROWS / mr > 0 ? SINTER_PG_TASK_ROWS / mr : 1;
    long mt = (p.mpanels + per_task - 1) / per_task;
    if (mt < 1) mt = 1;
    mt = (mt + threads - 1) / threads * threads;          /* the same share for every thread */
    if (mt > p.mpanels) mt = p.mpanels > 0 ? p.mpanels : 1;
    p.mtasks = mt;
    p.ntasks = 1;
    if (p.mtasks < threads && p.panels > 1) {              /* few rows: cut the columns too */
        p.ntasks = (threads + p.mtasks - 1) / p.mtasks;
        if (p.ntasks > p.panels) p.ntasks = p.panels;
    }
    return p;
}

static inline long sinter_pgemm_tasks(const sinter_pgemm_plan *p) { return p->mtasks * p->ntasks; }

/* The block of C that task t writes: rows [*m0, *m1) x columns [*n0, *n1) (maybe empty). A fused
 * epilogue can run on it as soon as the task is done. */
static inline void sinter_pgemm_task_block(const sinter_pgemm_plan *p, long t, long *m0, long *m1, long *n0, long *n1) {
    const long tm = t / p->ntasks, tn = t % p->ntasks;
    *m0 = sinter_minl(p->M, p->mpanels * tm / p->mtasks * p->mr);
    *m1 = sinter_minl(p->M, p->mpanels * (tm + 1) / p->mtasks * p->mr);
    *n0 = sinter_minl(p->N, p->panels * tn / p->ntasks * p->nr);
    *n1 = sinter_minl(p->N, p->panels * (tn + 1) / p->ntasks * p->nr);
}

/* The micro-kernel: an MR x NR tile of C (+)= A rows x packed B panel over kcb terms, writing
 * only the first mr rows and nr columns. A element (r, k) is at a[AIDX(r, k)]. */
#define SINTER_DEFINE_PG_MICRO(T, SUF, VT, NAME, AIDX)                                          \
static inline void NAME(long kcb, const T *restrict a, const T *restrict bp, T *restrict c,   \
        long ldc, int first, long mr, long nr) {                                               \
    enum { VW = (int)(sizeof(VT) / sizeof(T)), NV = SINTER_PG_NV, MR = SINTER_PG_MR, NR = NV * VW }; \
    VT acc[MR][NV];                                                                            \
    for (int r = 0; r < MR; r++)                                                               \
        for (int v = 0; v < NV; v++) acc[r][v] = (VT){0};                                      \
    for (int r = 0; r < MR; r++)                                                               \
        for (int v = 0; v < NV; v++) __builtin_prefetch(c + r * ldc + v * VW, 1, 3);           \
    for (long k = 0; k < kcb; k++) {                                                           \
        VT b[NV];                                                                              \
        for (int v = 0; v < NV; v++) b[v] = *(const VT *)(bp + k * NR + v * VW);               \
        for (int r = 0; r < MR; r++) {                                                         \
            const VT s = a[AIDX(r, k)] - (VT){0}; /* a splat: x - 0 is x, -0 included */       \
            for (int v = 0; v < NV; v++) acc[r][v] = sinter_vfma_##SUF(acc[r][v], s, b[v]);    \
        }                                                                                      \
    }                                                                                          \
    if (mr == MR && nr == NR) {                                                                \
        for (int r = 0; r < MR; r++)                                                           \
            for (int v = 0; v < NV; v++) {                                                     \
                T *pc = c + r * ldc + v * VW;                                                  \
                VT out = acc[r][v];                                                            \
                if (!first) { VT old; memcpy(&old, pc, sizeof(VT)); out += old; }              \
                memcpy(pc, &out, sizeof(VT));                                                  \
            }                                                                                  \
        return;                                                                                \
    }                                                                                          \
    SINTER_ALIGNED T tile[MR][NR];                                                             \
    memcpy(tile, acc, sizeof(tile));                                                           \
    for (long r = 0; r < mr; r++)                                                              \
        for (long n = 0; n < nr; n++) c[r * ldc + n] = first ? tile[r][n] : c[r * ldc + n] + tile[r][n]; \
}

/* The two layouts of a packed A micro-panel: rows of SINTER_PG_KC_MAX values (A row-major:
 * each row is one contiguous copy), or kcb groups of MR values (A transposed: each k is one). */
#define SINTER_PG_ROWS_AIDX(r, k) ((r) * SINTER_PG_KC_MAX + (k))
#define SINTER_PG_KMAJOR_AIDX(r, k) ((k) * SINTER_PG_MR + (r))

#define SINTER_DEFINE_PGEMM(T, SUF, VT)                                                        \
SINTER_DEFINE_PG_MICRO(T, SUF, VT, sinter_pg_micro_rows_##SUF, SINTER_PG_ROWS_AIDX)             \
SINTER_DEFINE_PG_MICRO(T, SUF, VT, sinter_pg_micro_kmajor_##SUF, SINTER_PG_KMAJOR_AIDX)         \
static inline sinter_pgemm_plan sinter_pgemm_plan_##SUF(long M, long N, long K, long threads) { \
    return sinter_pgemm_plan_tile(M, N, K, SINTER_PG_MR, SINTER_PG_NV * (long)(sizeof(VT) / sizeof(T)), (long)sizeof(T), threads); \
}                                                                                              \
/* Elements of packed B (allocate them 64-byte aligned). */                                    \
static inline long sinter_pgemm_packed_b_elems_##SUF(const sinter_pgemm_plan *p) {            \
    return p->K * p->panels * p->nr;                                                           \
}                                                                                              \
/* Packs panels [j0, j1) of B, every K block. */                                               \
static inline void sinter_pgemm_pack_b_##SUF(const sinter_pgemm_plan *p, const T *B, long brs, \
        long bcs, T *restrict bp, long j0, long j1) {                                          \
    const long NR = p->nr;                                                                     \
    for (long kb = 0; kb < p->kblocks; kb++) {                                                 \
        const long k0 = kb * p->kc, kcb = sinter_minl(p->kc, p->K - k0);                      \
        for (long j = j0; j < j1; j++) {                                                       \
            T *dst = bp + k0 * p->panels * NR + j * kcb * NR;                                  \
            const long n0 = j * NR, nn = sinter_minl(NR, p->N - n0);                           \
            const T *src = B + k0 * brs + n0 * bcs;                                            \
            if (bcs == 1) {                                                                    \
                for (long k = 0; k < kcb; k++) {                                               \
                    memcpy(dst + k * NR, src + k * brs, (size_t)nn * sizeof(T));               \
                    for (long n = nn; n < NR; n++) dst[k * NR + n] = 0;                        \
                }                                                                              \
            } else {                                                                           \
                for (long n = 0; n < nn; n++)                                                  \
                    for (long k = 0; k < kcb; k++) dst[k * NR + n] = src[k * brs + n * bcs];   \
                for (long k = 0; k < kcb; k++)                                                 \
                    for (long n = nn; n < NR; n++) dst[k * NR + n] = 0;                        \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
/* Rows [m, m+mr) x K block [k0, k0+kcb) of A, rows from mr on zero: in rows layout when A is \
 * row-major (acs == 1), else k-major. Either way every copy is of contiguous values when A is  \
 * row-major or transposed. */                                                                 \
static inline void sinter_pg_pack_a_##SUF(const T *A, long ars, long acs, long m, long mr,     \
        long k0, long kcb, T *restrict ap) {                                                   \
    enum { MR = SINTER_PG_MR };                                                                \
    const T *src = A + m * ars + k0 * acs;                                                     \
    if (acs == 1) {                                                                            \
        for (long r = 0; r < MR; r++) {                                                        \
            if (r < mr) memcpy(ap + r * SINTER_PG_KC_MAX, src + r * ars, (size_t)kcb * sizeof(T)); \
            else memset(ap + r * SINTER_PG_KC_MAX, 0, (size_t)kcb * sizeof(T));                \
        }                                                                                      \
    } else {                                                                                   \
        for (long k = 0; k < kcb; k++) {                                                       \
            if (ars == 1) memcpy(ap + k * MR, src + k * acs, (size_t)mr * sizeof(T));          \
            else for (long r = 0; r < mr; r++) ap[k * MR + r] = src[r * ars + k * acs];         \
            for (long r = mr; r < MR; r++) ap[k * MR + r] = 0;                                 \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
/* C rows [m0, m1) x panels [j0, j1), with B packed by sinter_pgemm_pack_b. */                 \
static inline void sinter_pgemm_block_##SUF(const sinter_pgemm_plan *p, long m0, long m1,      \
        long j0, long j1, const T *A, long ars, long acs, const T *bp, T *C, long ldc,         \
        int accumulate) {                                                                      \
    enum { MR = SINTER_PG_MR };                                                                \
    const long NR = p->nr;                                                                     \
    if (p->K == 0) {                                                                           \
        if (!accumulate)                                                                       \
            for (long m = m0; m < m1; m++)                                                     \
                for (long n = j0 * NR; n < sinter_minl(p->N, j1 * NR); n++) C[m * ldc + n] = 0; \
        return;                                                                                \
    }                                                                                          \
    SINTER_ALIGNED T ap[SINTER_PG_KC_MAX * MR];                                                \
    for (long jc = j0; jc < j1; jc += p->nc_panels) {                                          \
    const long je = sinter_minl(j1, jc + p->nc_panels);                                        \
    for (long kb = 0; kb < p->kblocks; kb++) {                                                 \
        const long k0 = kb * p->kc, kcb = sinter_minl(p->kc, p->K - k0);                       \
        const T *bblock = bp + k0 * p->panels * NR;                                            \
        const int first = !accumulate && kb == 0;                                              \
        for (long m = m0; m < m1; m += MR) {                                                   \
            const long mr = sinter_minl(MR, m1 - m);                                           \
            T *crow = C + m * ldc;                                                             \
            sinter_pg_pack_a_##SUF(A, ars, acs, m, mr, k0, kcb, ap);                           \
            /* The next micro-panel (the next rows, or the first rows of the next K block)     \
             * comes from memory: fetch it a slice per tile, while this one runs. */           \
            const int wrap = m + MR >= m1;                                                     \
            const long nm = wrap ? m0 : m + MR, nk = wrap ? k0 + kcb : k0;                    \
            const long nrows = wrap && kb + 1 == p->kblocks ? 0 : sinter_minl(MR, m1 - nm);   \
            const long nkcb = sinter_minl(p->kc, p->K - nk), lines = (nkcb * (long)sizeof(T) + 63) / 64; \
            const long fetch = nrows == 0 ? 0 : acs == 1 ? nrows * lines : ars == 1 ? nkcb : 0; \
            const long jn = je - jc;                                                           \
            for (long j = jc; j < je; j++) {                                                   \
                for (long f = fetch * (j - jc) / jn; f < fetch * (j - jc + 1) / jn; f++)        \
                    __builtin_prefetch(acs == 1 ? A + (nm + f / lines) * ars + nk + (f % lines) * (64 / (long)sizeof(T)) \
                                                : A + nm + (nk + f) * acs, 0, 2);              \
                const T *bpanel = bblock + j * kcb * NR;                                       \
                const long nr = sinter_minl(NR, p->N - j * NR);                                \
                if (acs == 1) sinter_pg_micro_rows_##SUF(kcb, ap, bpanel, crow + j * NR, ldc, first, mr, nr); \
                else sinter_pg_micro_kmajor_##SUF(kcb, ap, bpanel, crow + j * NR, ldc, first, mr, nr); \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    }                                                                                          \
}                                                                                              \
/* Task t < sinter_pgemm_tasks(p): its block of C (sinter_pgemm_task_block). */                \
static inline void sinter_pgemm_task_##SUF(const sinter_pgemm_plan *p, long t, const T *A,     \
        long ars, long acs, const T *bp, T *C, long ldc, int accumulate) {                     \
    long m0, m1, n0, n1;                                                                       \
    sinter_pgemm_task_block(p, t, &m0, &m1, &n0, &n1);                                         \
    if (m0 < m1 && n0 < n1)                                                                    \
        sinter_pgemm_block_##SUF(p, m0, m1, n0 / p->nr, (n1 + p->nr - 1) / p->nr, A, ars, acs, bp, C, ldc, accumulate); \
}

SINTER_DEFINE_PGEMM(float, f32, sinter_vf32)
SINTER_DEFINE_PGEMM(double, f64, sinter_vf64)

#endif
