/* Sinter SIMD: the vector types and the fused multiply-add shared by the GEMM headers.
 *
 * Vectors are GCC/Clang vector extensions sized for the target: 64 bytes with AVX-512, 32 with
 * AVX, 16 otherwise (SSE, NEON, or scalar code the compiler splits).
 *
 * No <immintrin.h>: it costs about a second of compile time per generated unit, and the two
 * builtins below are all the GEMMs need (GCC and Clang both provide them).
 */
#ifndef SINTER_SIMD_H
#define SINTER_SIMD_H

#if defined(__AVX512F__)
#define SINTER_VBYTES 64
#elif defined(__AVX__)
#define SINTER_VBYTES 32
#else
#define SINTER_VBYTES 16
#endif

typedef float sinter_vf32 __attribute__((vector_size(SINTER_VBYTES)));
typedef double sinter_vf64 __attribute__((vector_size(SINTER_VBYTES)));

/* c + a * b, fused where the target has FMA. Generated code is compiled in ISO C mode, where
 * GCC does not contract a*b+c, so the fused form is asked for explicitly (builtins rather than
 * `#pragma GCC optimize`, which is fragile). Without FMA it is a multiply then an add. */
static inline sinter_vf32 sinter_vfma_f32(sinter_vf32 c, sinter_vf32 a, sinter_vf32 b) {
#if defined(__AVX512F__)
    return __builtin_ia32_vfmaddps512_mask(a, b, c, (unsigned short)-1, 4 /* current rounding */);
#elif defined(__FMA__) && defined(__AVX__)
    return __builtin_ia32_vfmaddps256(a, b, c);
#else
    return c + a * b;
#endif
}
static inline sinter_vf64 sinter_vfma_f64(sinter_vf64 c, sinter_vf64 a, sinter_vf64 b) {
#if defined(__AVX512F__)
    return __builtin_ia32_vfmaddpd512_mask(a, b, c, (unsigned char)-1, 4 /* current rounding */);
#elif defined(__FMA__) && defined(__AVX__)
    return __builtin_ia32_vfmaddpd256(a, b, c);
#else
    return c + a * b;
#endif
}

#endif
