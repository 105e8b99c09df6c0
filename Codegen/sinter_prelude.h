/* Sinter prelude: included first by every generated translation unit.
 *
 * Generated code is compiled with `-std=c11 -O3 -march=native -fno-strict-aliasing [-fopenmp]`,
 * never `-ffast-math`. Everything here is `static inline` so unused helpers cost nothing and
 * raise no warnings. Scalar helpers come in an f32 (`float`, float libm calls) and an f64
 * (`double`) flavour; generated kernels pick one per node type.
 */
#ifndef SINTER_PRELUDE_H
#define SINTER_PRELUDE_H
#include <stdint.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

/* The two exported symbols of a generated library use this; every kernel is `static`. */
#define SINTER_EXPORT __attribute__((visibility("default")))

/* Parallel loops. Without -fopenmp they expand to nothing (and so raise no unknown-pragma
 * warnings). Kernels only parallelise loops whose iterations write disjoint outputs and whose
 * per-element summation order does not depend on the thread count, so results are identical
 * whatever OMP_NUM_THREADS is. */
#ifdef _OPENMP
#define SINTER_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#define SINTER_PARALLEL_FOR_DYNAMIC _Pragma("omp parallel for schedule(dynamic, 1)")
#else
#define SINTER_PARALLEL_FOR
#define SINTER_PARALLEL_FOR_DYNAMIC
#endif

/* Threads a parallel loop will use: only for cutting work into equal shares, never for deciding
 * a summation order. (omp_get_max_threads is declared here rather than through <omp.h>, which
 * not every compiler that accepts -fopenmp ships in its default include path.) */
#ifdef _OPENMP
int omp_get_max_threads(void);
static inline long sinter_threads(void) { return omp_get_max_threads(); }
#else
static inline long sinter_threads(void) { return 1; }
#endif

#define SINTER_PI 3.14159265358979323846

/* Local arrays: always declare them SINTER_ALIGNED. GCC 12 with AVX-512 (-march=native) can
 * place a 16-byte-aligned array in a leaf function's red zone, then push a frame pointer and
 * address the array 8 bytes off alignment, so its aligned vector stores fault. Over-aligning the
 * array makes GCC realign the stack properly. (Observed with gcc 12.2, -O2/-O3 -march=native.) */
#define SINTER_ALIGNED _Alignas(64)

/* Integer division rounding toward -infinity / +infinity (window index ranges). */
static inline long sinter_floordiv(long a, long b) {
    long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline long sinter_ceildiv(long a, long b) { return -sinter_floordiv(-a, b); }
static inline long sinter_maxl(long a, long b) { return a > b ? a : b; }
static inline long sinter_minl(long a, long b) { return a < b ? a : b; }

/* Numerically stable logistic: never evaluates exp of a large positive number. */
static inline float sinter_sigmoid_f32(float x) {
    if (x >= 0.0f) { float z = expf(-x); return 1.0f / (1.0f + z); }
    float z = expf(x);
    return z / (1.0f + z);
}
static inline double sinter_sigmoid_f64(double x) {
    if (x >= 0.0) { double z = exp(-x); return 1.0 / (1.0 + z); }
    double z = exp(x);
    return z / (1.0 + z);
}

/* softplus(x) = log(1 + e^x) = log1p(e^-|x|) + max(x, 0). */
static inline float sinter_softplus_f32(float x) { return log1pf(expf(-fabsf(x))) + (x > 0.0f ? x : 0.0f); }
static inline double sinter_softplus_f64(double x) { return log1p(exp(-fabs(x))) + (x > 0.0 ? x : 0.0); }

/* selu with lambda = 1.0507009873554805, alpha = 1.6732632423543772. */
static inline float sinter_selu_f32(float x) {
    return x > 0.0f ? 1.0507009873554805f * x : (1.0507009873554805f * 1.6732632423543772f) * expm1f(x);
}
static inline double sinter_selu_f64(double x) {
    return x > 0.0 ? 1.0507009873554805 * x : (1.0507009873554805 * 1.6732632423543772) * expm1(x);
}

/* sign: -1, 0 or 1 (NaN gives NaN). */
static inline float sinter_sign_f32(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }
static inline double sinter_sign_f64(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x); }

/* Integer power for i32 tensors (negative exponents follow C's truncating division: 0 unless the
 * base is +-1). */
static inline int32_t sinter_pow_i32(int32_t base, int32_t e) {
    if (e < 0) return base == 1 ? 1 : (base == -1 ? ((e & 1) ? -1 : 1) : 0);
    int64_t result = 1, b = base;
    while (e) { if (e & 1) result *= b; b *= b; e >>= 1; }
    return (int32_t)result;
}

/* Sum of n elements x[0], x[stride], ... in a fixed order that does not depend on threads: 16
 * interleaved partial sums (element i goes to partial i % 16), then the partials combined as a
 * balanced tree. Far more accurate than one running sum and vectorisable without reassociation.
 * Blocks of 4096 elements are summed that way and block sums are added left to right. */
#define SINTER_DEFINE_SUM(T, SUF)                                                             \
static inline T sinter_sum_block_##SUF(const T *x, long n, long stride) {                    \
    SINTER_ALIGNED T p[16] = {0};                                                                 \
    long i = 0;                                                                              \
    if (stride == 1) {                                                                       \
        for (; i + 16 <= n; i += 16)                                                         \
            for (int l = 0; l < 16; l++) p[l] += x[i + l];                                   \
    } else {                                                                                 \
        for (; i + 16 <= n; i += 16)                                                         \
            for (int l = 0; l < 16; l++) p[l] += x[(i + l) * stride];                        \
    }                                                                                        \
    for (long l = 0, rest = n - i; l < rest && l < 16; l++) p[l] += x[(i + l) * stride];   \
    for (int w = 8; w >= 1; w /= 2)                                                          \
        for (int l = 0; l < w; l++) p[l] += p[l + w];                                        \
    return p[0];                                                                             \
}                                                                                            \
static inline T sinter_sum_##SUF(const T *x, long n, long stride) {                          \
    if (n <= 4096) return sinter_sum_block_##SUF(x, n, stride);                              \
    T total = 0;                                                                             \
    for (long b = 0; b < n; b += 4096)                                                       \
        total += sinter_sum_block_##SUF(x + b * stride, n - b < 4096 ? n - b : 4096, stride); \
    return total;                                                                            \
}
SINTER_DEFINE_SUM(float, f32)
SINTER_DEFINE_SUM(double, f64)
SINTER_DEFINE_SUM(int32_t, i32)

#endif
