//===--- TallyKernels.c ---------------------------------------------------===//
//
// AVX2 loops chosen at run time (see TallyKernels.h). No fused
// multiply-adds: every product and sum is rounded as the Swift loop
// rounds it.
//
//===----------------------------------------------------------------------===//

#include "TallyKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int tally_has_avx2(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return known;
}

__attribute__((target("avx2"))) static void error_sum_avx2(
    const float *t, const float *p, intptr_t n, int kind, double hi[8], double lo[8]) {
  // Lanes 0-3 and 4-7 of the Swift loop's SIMD8<Double>.
  __m256d h0 = _mm256_loadu_pd(hi), h1 = _mm256_loadu_pd(hi + 4);
  __m256d l0 = _mm256_loadu_pd(lo), l1 = _mm256_loadu_pd(lo + 4);
  const __m256d sign = _mm256_set1_pd(-0.0);
  for (intptr_t i = 0; i + 8 <= n; i += 8) {
    __m256 tf = _mm256_loadu_ps(t + i), pf = _mm256_loadu_ps(p + i);
    __m256d t0 = _mm256_cvtps_pd(_mm256_castps256_ps128(tf));
    __m256d t1 = _mm256_cvtps_pd(_mm256_extractf128_ps(tf, 1));
    __m256d p0 = _mm256_cvtps_pd(_mm256_castps256_ps128(pf));
    __m256d p1 = _mm256_cvtps_pd(_mm256_extractf128_ps(pf, 1));
    __m256d d0 = _mm256_sub_pd(t0, p0), d1 = _mm256_sub_pd(t1, p1);
    __m256d v0, v1;
    if (kind == 0) {
      v0 = _mm256_mul_pd(d0, d0);
      v1 = _mm256_mul_pd(d1, d1);
    } else {
      // |d| as `d < 0 ? -d : d` (−0 stays −0, as in the Swift loop).
      __m256d n0 = _mm256_xor_pd(d0, sign), n1 = _mm256_xor_pd(d1, sign);
      v0 = _mm256_blendv_pd(d0, n0, _mm256_cmp_pd(d0, _mm256_setzero_pd(), _CMP_LT_OQ));
      v1 = _mm256_blendv_pd(d1, n1, _mm256_cmp_pd(d1, _mm256_setzero_pd(), _CMP_LT_OQ));
    }
    __m256d s0 = _mm256_add_pd(h0, v0), s1 = _mm256_add_pd(h1, v1);
    __m256d b0 = _mm256_sub_pd(s0, h0), b1 = _mm256_sub_pd(s1, h1);
    l0 = _mm256_add_pd(l0, _mm256_add_pd(_mm256_sub_pd(h0, _mm256_sub_pd(s0, b0)), _mm256_sub_pd(v0, b0)));
    l1 = _mm256_add_pd(l1, _mm256_add_pd(_mm256_sub_pd(h1, _mm256_sub_pd(s1, b1)), _mm256_sub_pd(v1, b1)));
    h0 = s0;
    h1 = s1;
  }
  _mm256_storeu_pd(hi, h0);
  _mm256_storeu_pd(hi + 4, h1);
  _mm256_storeu_pd(lo, l0);
  _mm256_storeu_pd(lo + 4, l1);
}

int tally_error_sum_avx2(const float *t, const float *p, intptr_t n, int kind, double hi[8], double lo[8]) {
  if (!tally_has_avx2()) return 0;
  error_sum_avx2(t, p, n, kind, hi, lo);
  return 1;
}

#else

int tally_has_avx2(void) { return 0; }

int tally_error_sum_avx2(const float *t, const float *p, intptr_t n, int kind, double hi[8], double lo[8]) {
  (void)t;
  (void)p;
  (void)n;
  (void)kind;
  (void)hi;
  (void)lo;
  return 0;
}

#endif
