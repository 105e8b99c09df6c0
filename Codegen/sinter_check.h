/* Sinter checking builds (`--check-numerics`, `--check-bounds`; Sources/SinterCodegen/CheckBuild.swift).
 *
 * Included only by checking builds. The entry keeps one `sinter_check_record` at a fixed arena
 * offset the runtime knows; the first failed check fills it and the entry returns at once. The
 * record holds only numbers: `site` indexes the table of sites the runtime keeps (op, tensor,
 * source line), so no name from the graph ever reaches this C.
 */
#ifndef SINTER_CHECK_H
#define SINTER_CHECK_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>

/* kind: 0 = no failure, 1 = a non-finite value (element index, value), 2 = a changed guard byte
 * (byte offset within the zone, the byte found). Layout mirrored by CheckRecord in Swift. */
typedef struct {
    int64_t kind;
    int64_t site;
    int64_t element;
    double value;
} sinter_check_record;

#define SINTER_CHECK_NONFINITE 1
#define SINTER_CHECK_GUARD 2
#define SINTER_GUARD_BYTE 0xA5

/* Under AddressSanitizer the guard zones are also poisoned while the kernel runs, so ASan reports
 * the faulting write itself (with its stack) instead of the canary finding it afterwards. */
#if defined(__SANITIZE_ADDRESS__)
#define SINTER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SINTER_ASAN 1
#endif
#endif
#ifdef SINTER_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define SINTER_GUARD_POISON(p, n) __asan_poison_memory_region((p), (size_t)(n))
#define SINTER_GUARD_UNPOISON(p, n) __asan_unpoison_memory_region((p), (size_t)(n))
#else
#define SINTER_GUARD_POISON(p, n) ((void)0)
#define SINTER_GUARD_UNPOISON(p, n) ((void)0)
#endif

static inline int sinter_check_fail(sinter_check_record *r, int64_t kind, int64_t site, int64_t element, double value) {
    if (r->kind == 0) {
        r->kind = kind;
        r->site = site;
        r->element = element;
        r->value = value;
    }
    return 1;
}

/* The first NaN or +-Inf of n elements, recorded against `site`. */
static inline int sinter_check_finite_f32(sinter_check_record *r, int64_t site, const float *p, long n) {
    for (long i = 0; i < n; i++)
        if (!isfinite(p[i])) return sinter_check_fail(r, SINTER_CHECK_NONFINITE, site, i, (double)p[i]);
    return 0;
}
static inline int sinter_check_finite_f64(sinter_check_record *r, int64_t site, const double *p, long n) {
    for (long i = 0; i < n; i++)
        if (!isfinite(p[i])) return sinter_check_fail(r, SINTER_CHECK_NONFINITE, site, i, p[i]);
    return 0;
}

/* Guard zones: filled (and poisoned) before a kernel, unpoisoned and verified after it. */
static inline void sinter_guard_fill(uint8_t *p, long n) {
    memset(p, SINTER_GUARD_BYTE, (size_t)n);
    SINTER_GUARD_POISON(p, n);
}
static inline int sinter_guard_verify(sinter_check_record *r, int64_t site, uint8_t *p, long n) {
    SINTER_GUARD_UNPOISON(p, n);
    for (long i = 0; i < n; i++)
        if (p[i] != SINTER_GUARD_BYTE) return sinter_check_fail(r, SINTER_CHECK_GUARD, site, i, (double)p[i]);
    return 0;
}

#endif
