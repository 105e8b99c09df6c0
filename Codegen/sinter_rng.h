/* Sinter counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11; the Random123 constants and round function).
 *
 * The stream. For a random_normal / random_uniform node with attribute `seed` (an integer, taken
 * as a 64-bit two's-complement value S) and a counter operand whose value is C (a scalar of any
 * dtype, converted to int64 then reinterpreted as uint64), element k (row-major index, 0-based)
 * is derived from ONE Philox-4x32-10 block:
 *
 *     key     = (lo32(S), hi32(S))
 *     counter = (lo32(k), hi32(k), lo32(C), hi32(C))
 *     (x0, x1, x2, x3) = philox4x32_10(counter, key)
 *
 *     u53(a, b) = ((uint64(b) << 32 | a) >> 11) * 2^-53            in [0, 1)
 *
 *   random_uniform{low, high}:  v = low + (high - low) * u53(x0, x1), computed in double and
 *                               rounded to the node type; a value that rounds up to `high` is
 *                               replaced by the largest representable value below it.
 *   random_normal:              u1 = u53(x0, x1) + 2^-53  (in (0, 1]),  u2 = u53(x2, x3),
 *                               v = sqrt(-2 log u1) * cos(2 pi u2)  in double, rounded to the
 *                               node type (Box-Muller, cosine branch only).
 *
 * So a value depends only on (seed, counter, k): not on the shape, the thread count or on which
 * other elements are drawn. Different seeds give different keys, different counters different
 * Philox counters; both are independent streams by Philox's design.
 */
#ifndef SINTER_RNG_H
#define SINTER_RNG_H
#include "sinter_prelude.h"

typedef struct { uint32_t v[4]; } sinter_philox_block;

static inline sinter_philox_block sinter_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                                       uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    sinter_philox_block out = {{c0, c1, c2, c3}};
    return out;
}

/* The block for element k of the stream (seed, counter). */
static inline sinter_philox_block sinter_rng_block(uint64_t seed, uint64_t counter, uint64_t k) {
    return sinter_philox4x32_10((uint32_t)k, (uint32_t)(k >> 32), (uint32_t)counter, (uint32_t)(counter >> 32),
                                (uint32_t)seed, (uint32_t)(seed >> 32));
}

static inline double sinter_u53(uint32_t lo, uint32_t hi) {
    return (double)((((uint64_t)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, 1). */
static inline double sinter_rng_uniform(uint64_t seed, uint64_t counter, uint64_t k) {
    sinter_philox_block b = sinter_rng_block(seed, counter, k);
    return sinter_u53(b.v[0], b.v[1]);
}

/* Standard normal. */
static inline double sinter_rng_normal(uint64_t seed, uint64_t counter, uint64_t k) {
    sinter_philox_block b = sinter_rng_block(seed, counter, k);
    double u1 = sinter_u53(b.v[0], b.v[1]) + (1.0 / 9007199254740992.0);
    double u2 = sinter_u53(b.v[2], b.v[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * SINTER_PI * u2);
}

/* U[low, high) rounded to float / double, never equal to high (when high > low). */
static inline float sinter_rng_uniform_f32(uint64_t seed, uint64_t counter, uint64_t k, double low, double high) {
    float v = (float)(low + (high - low) * sinter_rng_uniform(seed, counter, k));
    if (high > low && v >= (float)high) v = nextafterf((float)high, (float)low);
    return v;
}
static inline double sinter_rng_uniform_f64(uint64_t seed, uint64_t counter, uint64_t k, double low, double high) {
    double v = low + (high - low) * sinter_rng_uniform(seed, counter, k);
    if (high > low && v >= high) v = nextafter(high, low);
    return v;
}

/* A counter operand of any dtype as the uint64 the stream uses. */
static inline uint64_t sinter_rng_counter(double c) { return (uint64_t)(int64_t)c; }

#endif
