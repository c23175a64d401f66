//===--- TallyKernels.c ---------------------------------------------------===//
//
// AVX2 loops chosen at run time (see TallyKernels.h). No fused
// multiply-adds: every product and sum is rounded as the Swift loop
// rounds it; counts are integers, the same in any order.
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

int tally_has_avx512(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
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

// Integer counts: 32-bit lanes for at most 2^20 blocks at a time (no lane
// can wrap), then added into 64-bit totals.
enum { LANE_BLOCKS = 1 << 20 };

static inline __attribute__((target("avx2"))) int64_t lane_sum(__m256i v) {
  int32_t lanes[8];
  _mm256_storeu_si256((__m256i *)lanes, v);
  int64_t s = 0;
  for (int k = 0; k < 8; k++) s += lanes[k];
  return s;
}

__attribute__((target("avx2"))) static int64_t binary_matches_avx2(
    const float *p, const float *t, intptr_t n, float threshold) {
  const __m256 thr = _mm256_set1_ps(threshold);
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t total = 0;
  for (intptr_t start = 0; start < n; start += (intptr_t)LANE_BLOCKS * 8) {
    intptr_t end = n - start > (intptr_t)LANE_BLOCKS * 8 ? start + (intptr_t)LANE_BLOCKS * 8 : n;
    __m256i c = _mm256_setzero_si256();
    for (intptr_t i = start; i < end; i += 8) {
      __m256 s = _mm256_loadu_ps(p + i), y = _mm256_loadu_ps(t + i);
      // 1 where the score is above (ordered: NaN is not), else 0.
      __m256 predicted = _mm256_and_ps(_mm256_cmp_ps(s, thr, _CMP_GT_OQ), one);
      // A hit where the label equals it (ordered: a NaN label never does);
      // the all-ones mask is −1 as an integer.
      c = _mm256_sub_epi32(c, _mm256_castps_si256(_mm256_cmp_ps(y, predicted, _CMP_EQ_OQ)));
    }
    total += lane_sum(c);
  }
  return total;
}

int tally_binary_matches_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t *hits) {
  if (!tally_has_avx2()) return 0;
  *hits += binary_matches_avx2(p, t, n, threshold);
  return 1;
}

__attribute__((target("avx2"))) static void threshold_counts_avx2(
    const float *p, const float *t, intptr_t n, float threshold, int64_t counts[5]) {
  const __m256 thr = _mm256_set1_ps(threshold);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 zero = _mm256_setzero_ps();
  for (intptr_t start = 0; start < n; start += (intptr_t)LANE_BLOCKS * 8) {
    intptr_t end = n - start > (intptr_t)LANE_BLOCKS * 8 ? start + (intptr_t)LANE_BLOCKS * 8 : n;
    __m256i posAbove = _mm256_setzero_si256(), above = posAbove, pos = posAbove, neg = posAbove, nan = posAbove;
    for (intptr_t i = start; i < end; i += 8) {
      __m256 s = _mm256_loadu_ps(p + i), y = _mm256_loadu_ps(t + i);
      __m256i isAbove = _mm256_castps_si256(_mm256_cmp_ps(s, thr, _CMP_GT_OQ));
      __m256i isPos = _mm256_castps_si256(_mm256_cmp_ps(y, one, _CMP_EQ_OQ));
      __m256i isNeg = _mm256_castps_si256(_mm256_cmp_ps(y, zero, _CMP_EQ_OQ));
      __m256i isNaN = _mm256_castps_si256(_mm256_cmp_ps(s, s, _CMP_NEQ_UQ));
      above = _mm256_sub_epi32(above, isAbove);
      posAbove = _mm256_sub_epi32(posAbove, _mm256_and_si256(isAbove, isPos));
      pos = _mm256_sub_epi32(pos, isPos);
      neg = _mm256_sub_epi32(neg, isNeg);
      nan = _mm256_sub_epi32(nan, isNaN);
    }
    counts[0] += lane_sum(posAbove);
    counts[1] += lane_sum(above);
    counts[2] += lane_sum(pos);
    counts[3] += lane_sum(neg);
    counts[4] += lane_sum(nan);
  }
}

int tally_threshold_counts_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t counts[5]) {
  if (!tally_has_avx2()) return 0;
  threshold_counts_avx2(p, t, n, threshold, counts);
  return 1;
}


// Cells of a batch, for slices and bootstraps (CellCounting.swift).

__attribute__((target("avx2"))) static void binary_hit_cells_avx2(
    const float *p, const float *t, intptr_t n, float threshold, int32_t *out) {
  const __m256 thr = _mm256_set1_ps(threshold);
  const __m256 one = _mm256_set1_ps(1.0f);
  for (intptr_t i = 0; i < n; i += 8) {
    __m256 s = _mm256_loadu_ps(p + i), y = _mm256_loadu_ps(t + i);
    __m256 predicted = _mm256_and_ps(_mm256_cmp_ps(s, thr, _CMP_GT_OQ), one);
    // All ones where the label equals the prediction, shifted down to 1.
    __m256i hit = _mm256_castps_si256(_mm256_cmp_ps(y, predicted, _CMP_EQ_OQ));
    _mm256_storeu_si256((__m256i *)(out + i), _mm256_srli_epi32(hit, 31));
  }
}

int tally_binary_hit_cells_avx2(const float *p, const float *t, intptr_t n, float threshold, int32_t *out) {
  if (!tally_has_avx2()) return 0;
  binary_hit_cells_avx2(p, t, n, threshold, out);
  return 1;
}

__attribute__((target("avx2"))) static int even_slots_avx2(
    const float *p, const float *t, intptr_t n, float scale, int32_t floor_slot, int32_t *out) {
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 magic = _mm256_set1_ps(8388608.0f);  // 2^23
  const __m256i magic_bits = _mm256_set1_epi32(0x4B000000);
  const __m256i vfloor = _mm256_set1_epi32(floor_slot);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  __m256i invalid = _mm256_setzero_si256();
  for (intptr_t i = 0; i < n; i += 8) {
    __m256 f = _mm256_loadu_ps(p + i), y = _mm256_loadu_ps(t + i);
    __m256 is_nan = _mm256_cmp_ps(f, f, _CMP_NEQ_UQ);
    __m256 is_pos = _mm256_cmp_ps(y, one, _CMP_EQ_OQ), is_neg = _mm256_cmp_ps(y, zero, _CMP_EQ_OQ);
    invalid = _mm256_or_si256(invalid, _mm256_castps_si256(_mm256_or_ps(is_nan, _mm256_xor_ps(
        _mm256_or_ps(is_pos, is_neg), _mm256_castsi256_ps(_mm256_set1_epi32(-1))))));
    // NaN and below 0 to 0, then (on the score as read) above 1 to 1.
    __m256 above = _mm256_cmp_ps(f, one, _CMP_GT_OQ);
    f = _mm256_blendv_ps(f, zero, _mm256_or_ps(is_nan, _mm256_cmp_ps(f, zero, _CMP_LT_OQ)));
    f = _mm256_blendv_ps(f, one, above);
    __m256 x = _mm256_mul_ps(f, vscale);
    __m256 m = _mm256_add_ps(x, magic);
    __m256i rounded = _mm256_sub_epi32(_mm256_castps_si256(m), magic_bits);
    // ceil: one more where the rounding went down (the mask is -1).
    __m256i ceil = _mm256_sub_epi32(rounded, _mm256_castps_si256(_mm256_cmp_ps(_mm256_sub_ps(m, magic), x, _CMP_LT_OQ)));
    __m256i twice = _mm256_add_epi32(ceil, ceil);
    __m256i slot = _mm256_max_epi32(twice, vfloor);
    slot = _mm256_sub_epi32(slot, _mm256_castps_si256(is_pos));
    _mm256_storeu_si256((__m256i *)(out + i), slot);
  }
  return !_mm256_testz_si256(invalid, invalid);
}

int tally_even_slots_avx2(
    const float *p, const float *t, intptr_t n, float scale, int32_t floor_slot, int32_t *out, int *invalid) {
  if (!tally_has_avx2()) return 0;
  if (even_slots_avx2(p, t, n, scale, floor_slot, out)) *invalid = 1;
  return 1;
}

/// The slots of keys through a dense table, until a key outside it or
/// without a slot (SliceCounter.swift's `map`).
#define TABLE_SLOTS(name, type)                                                                              \
  SLOTS_LINKAGE intptr_t name(const type *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width, int32_t *out) { \
    intptr_t i = 0;                                                                                          \
    for (; i < n; i++) {                                                                                     \
      uint64_t s = (uint64_t)(int64_t)keys[i] - (uint64_t)lo; /* (unsigned: no signed overflow) */           \
      if (s >= (uint64_t)width) break;                                                                       \
      int32_t slot = table[s];                                                                               \
      if (slot < 0) break;                                                                                   \
      out[i] = slot;                                                                                         \
    }                                                                                                        \
    return i;                                                                                                \
  }
#define SLOTS_LINKAGE static
TABLE_SLOTS(table_slots_i64, int64_t)
TABLE_SLOTS(table_slots_i32, int32_t)
#undef SLOTS_LINKAGE
#define SLOTS_LINKAGE
TABLE_SLOTS(tally_table_slots_u8, uint8_t)

/// Counts the rows of the leading keys with slots, each key looked up as
/// its row is counted (the lookups hide behind the increments, which wait
/// on memory): two loops, so that the one-source loop has no test of
/// `second`.
#define COUNT_KNOWN(name, type)                                                                               \
  intptr_t name(const type *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,               \
                uint16_t *counters, intptr_t stride, const int32_t *cells, const int32_t *cells2,             \
                intptr_t second) {                                                                             \
    intptr_t i = 0;                                                                                           \
    if (second >= 0) {                                                                                        \
      for (; i < n; i++) {                                                                                    \
        uint64_t s = (uint64_t)(int64_t)keys[i] - (uint64_t)lo;                                                \
        if (s >= (uint64_t)width) break;                                                                      \
        int32_t slot = table[s];                                                                              \
        if (slot < 0) break;                                                                                  \
        uint16_t *row = counters + (intptr_t)slot * stride;                                                   \
        row[cells[i]]++;                                                                                      \
        row[second + cells2[i]]++;                                                                            \
      }                                                                                                       \
    } else {                                                                                                  \
      for (; i < n; i++) {                                                                                    \
        uint64_t s = (uint64_t)(int64_t)keys[i] - (uint64_t)lo;                                                \
        if (s >= (uint64_t)width) break;                                                                      \
        int32_t slot = table[s];                                                                              \
        if (slot < 0) break;                                                                                  \
        counters[(intptr_t)slot * stride + cells[i]]++;                                                       \
      }                                                                                                       \
    }                                                                                                         \
    return i;                                                                                                 \
  }
COUNT_KNOWN(tally_count_known_i64, int64_t)
COUNT_KNOWN(tally_count_known_i32, int32_t)
COUNT_KNOWN(tally_count_known_u8, uint8_t)

/// Writes the slots of four keys, given as their 64-bit offsets `s` into
/// the table, to `out`; 0 (and maybe a partial write) when one lies outside
/// the table or has no slot.
__attribute__((target("avx2"))) static inline int slots4_avx2(
    __m256i s, const int32_t *table, intptr_t width, int32_t *out) {
  const __m256i vwidth = _mm256_set1_epi64x(width), minus1 = _mm256_set1_epi64x(-1);
  // 0 <= s < width (signed: width is below 2^63, and a wrapped s is negative).
  __m256i inside = _mm256_and_si256(_mm256_cmpgt_epi64(s, minus1), _mm256_cmpgt_epi64(vwidth, s));
  if (_mm256_movemask_pd(_mm256_castsi256_pd(inside)) != 15) return 0;
  __m128i slots = _mm256_i64gather_epi32((const int *)table, s, 4);
  if (_mm_movemask_ps(_mm_castsi128_ps(slots)) != 0) return 0;
  _mm_storeu_si128((__m128i *)out, slots);
  return 1;
}

/// slots4_avx2 for eight keys in AVX-512 (its gathers are the fast ones
/// here: 0.3 ns a key in a C test against ~0.75 for AVX2's and the scalar
/// loop).
__attribute__((target("avx512f"))) static inline int slots8_avx512(
    __m512i s, const int32_t *table, intptr_t width, int32_t *out) {
  // 0 <= s < width, unsigned (a wrapped s is huge).
  if (_mm512_cmplt_epu64_mask(s, _mm512_set1_epi64(width)) != 0xFF) return 0;
  __m256i slots = _mm512_i64gather_epi32(s, (const void *)table, 4);
  if (_mm256_movemask_ps(_mm256_castsi256_ps(slots)) != 0) return 0;
  _mm256_storeu_si256((__m256i *)out, slots);
  return 1;
}

/// table_slots_i64 and _i32 `lanes` keys at a time (`step` checks and
/// gathers the keys at `keys + i`: four in AVX2, eight in AVX-512) while all
/// have slots; the rest one at a time.
#define WIDE_TABLE_SLOTS(name, feature, type, lanes, step, scalar)                                     \
  __attribute__((target(feature))) static intptr_t name(                                                 \
      const type *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width, int32_t *out) {     \
    intptr_t i = 0;                                                                                      \
    while (i + lanes <= n && (step)) i += lanes;                                                         \
    return i + scalar(keys + i, n - i, lo, table, width, out + i);                                       \
  }
WIDE_TABLE_SLOTS(table_slots_i64_avx2, "avx2", int64_t, 4,
                 slots4_avx2(_mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(keys + i)), _mm256_set1_epi64x(lo)),
                             table, width, out + i),
                 table_slots_i64)
WIDE_TABLE_SLOTS(table_slots_i32_avx2, "avx2", int32_t, 4,
                 slots4_avx2(_mm256_sub_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(keys + i))),
                                              _mm256_set1_epi64x(lo)),
                             table, width, out + i),
                 table_slots_i32)
WIDE_TABLE_SLOTS(table_slots_i64_avx512, "avx512f", int64_t, 8,
                 slots8_avx512(_mm512_sub_epi64(_mm512_loadu_si512((const void *)(keys + i)), _mm512_set1_epi64(lo)),
                               table, width, out + i),
                 table_slots_i64)
WIDE_TABLE_SLOTS(table_slots_i32_avx512, "avx512f", int32_t, 8,
                 slots8_avx512(_mm512_sub_epi64(_mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(keys + i))),
                                                _mm512_set1_epi64(lo)),
                               table, width, out + i),
                 table_slots_i32)

intptr_t tally_table_slots_i64(const int64_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               int32_t *out) {
  if (tally_has_avx512()) return table_slots_i64_avx512(keys, n, lo, table, width, out);
  if (tally_has_avx2()) return table_slots_i64_avx2(keys, n, lo, table, width, out);
  return table_slots_i64(keys, n, lo, table, width, out);
}

intptr_t tally_table_slots_i32(const int32_t *keys, intptr_t n, int64_t lo, const int32_t *table, intptr_t width,
                               int32_t *out) {
  if (tally_has_avx512()) return table_slots_i32_avx512(keys, n, lo, table, width, out);
  if (tally_has_avx2()) return table_slots_i32_avx2(keys, n, lo, table, width, out);
  return table_slots_i32(keys, n, lo, table, width, out);
}

// Poisson bootstrap counters (CellTotals.swift's `drawnTotals`).

/// wyrand's constants P₀ and P₁ (PoissonBootstrap.bits), shared by the
/// scalar and the lane-parallel outputs.
#define POISSON_P0 0xA0761D6478BD642FULL
#define POISSON_P1 0xE7037ED1A0B428DBULL

/// wyrand's output for the state `key + (block + 1)·P₀` (PoissonBootstrap.bits).
static inline uint64_t poisson_bits(uint64_t key, intptr_t block) {
  uint64_t s = key + (uint64_t)(block + 1) * POISSON_P0;
  unsigned __int128 m = (unsigned __int128)s * (s ^ POISSON_P1);
  return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/// Adds counter row `row`'s negated counts to the totals and clears it.
static void poisson_flush(int16_t *acc, uint16_t *fill, int64_t *out, intptr_t row, intptr_t vectors, intptr_t r) {
  int16_t *a = acc + row * vectors * 8;
  for (intptr_t lane = 0; lane < r; lane++) out[row * r + lane] += (uint16_t)(0 - (uint16_t)a[lane]);
  for (intptr_t k = 0; k < vectors * 8; k++) a[k] = 0;
  fill[row] = 0;
}

/// Row `key`'s counts of lanes 8v ..< 8·vectors, negated, added to its
/// counter rows `slot[0 ..< metrics]`: two eight-lane vectors at a time,
/// then one.
__attribute__((target("avx2"))) static inline void poisson_row_avx2(
    uint64_t key, const int32_t *slot, intptr_t metrics, int16_t *acc, intptr_t v, intptr_t vectors,
    const __m256i t[8]) {
  const __m256i flip = _mm256_set1_epi16((int16_t)0x8000);
  // Two of the Swift loop's eight-lane vectors at a time: blocks 2v ..< 2v + 4.
  for (; v + 2 <= vectors; v += 2) {
    __m256i u = _mm256_set_epi64x((long long)poisson_bits(key, 2 * v + 3), (long long)poisson_bits(key, 2 * v + 2),
                                  (long long)poisson_bits(key, 2 * v + 1), (long long)poisson_bits(key, 2 * v));
    u = _mm256_xor_si256(u, flip);
    __m256i c = _mm256_add_epi16(_mm256_cmpgt_epi16(u, t[0]), _mm256_cmpgt_epi16(u, t[1]));
    c = _mm256_add_epi16(c, _mm256_add_epi16(_mm256_cmpgt_epi16(u, t[2]), _mm256_cmpgt_epi16(u, t[3])));
    c = _mm256_add_epi16(c, _mm256_cmpgt_epi16(u, t[4]));
    __m256i high = _mm256_cmpgt_epi16(u, t[5]);
    if (!_mm256_testz_si256(high, high)) {
      c = _mm256_add_epi16(c, _mm256_add_epi16(high, _mm256_cmpgt_epi16(u, t[6])));
      c = _mm256_add_epi16(c, _mm256_cmpgt_epi16(u, t[7]));
    }
    for (intptr_t m = 0; m < metrics; m++) {
      __m256i *a = (__m256i *)(acc + ((intptr_t)slot[m] * vectors + v) * 8);
      _mm256_storeu_si256(a, _mm256_add_epi16(_mm256_loadu_si256(a), c));
    }
  }
  if (v < vectors) {
    __m128i u = _mm_set_epi64x((long long)poisson_bits(key, 2 * v + 1), (long long)poisson_bits(key, 2 * v));
    u = _mm_xor_si128(u, _mm256_castsi256_si128(flip));
    __m128i c = _mm_add_epi16(_mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[0])),
                              _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[1])));
    c = _mm_add_epi16(c, _mm_add_epi16(_mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[2])),
                                       _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[3]))));
    c = _mm_add_epi16(c, _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[4])));
    __m128i high = _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[5]));
    if (_mm_movemask_epi8(high) != 0) {
      c = _mm_add_epi16(c, _mm_add_epi16(high, _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[6]))));
      c = _mm_add_epi16(c, _mm_cmpgt_epi16(u, _mm256_castsi256_si128(t[7])));
    }
    for (intptr_t m = 0; m < metrics; m++) {
      __m128i *a = (__m128i *)(acc + ((intptr_t)slot[m] * vectors + v) * 8);
      _mm_storeu_si128(a, _mm_add_epi16(_mm_loadu_si128(a), c));
    }
  }
}

/// Counts each counter row's rows; a row at 8,191 goes into the totals.
static inline void poisson_fill(
    const int32_t *slot, intptr_t metrics, int16_t *acc, uint16_t *fill, int64_t *out, intptr_t vectors,
    intptr_t r) {
  for (intptr_t m = 0; m < metrics; m++) {
    const intptr_t row = slot[m];
    fill[row] += 1;
    if (fill[row] == 8191) poisson_flush(acc, fill, out, row, vectors, r);
  }
}

__attribute__((target("avx2"))) static void poisson_rows_avx2(
    const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics, int16_t *acc, uint16_t *fill,
    int64_t *out, intptr_t vectors, intptr_t r, const int16_t thresholds[8]) {
  __m256i t[8];
  for (int k = 0; k < 8; k++) t[k] = _mm256_set1_epi16(thresholds[k]);
  for (intptr_t i = 0; i < n; i++) {
    poisson_row_avx2(keys[i], slots + i * metrics, metrics, acc, 0, vectors, t);
    poisson_fill(slots + i * metrics, metrics, acc, fill, out, vectors, r);
  }
}

/// The high and low halves of the 64 × 64-bit products a·b, lane by lane,
/// from four 32 × 32-bit products (AVX-512 has no wider multiply).
__attribute__((target("avx512f,avx512bw"))) static inline __m512i wide_product_fold(__m512i a, __m512i b) {
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFFLL);
  const __m512i a1 = _mm512_srli_epi64(a, 32), b1 = _mm512_srli_epi64(b, 32);
  const __m512i p00 = _mm512_mul_epu32(a, b), p01 = _mm512_mul_epu32(a, b1);
  const __m512i p10 = _mm512_mul_epu32(a1, b), p11 = _mm512_mul_epu32(a1, b1);
  // The middle 32-bit column with its carries: below 3 · 2³², no overflow.
  const __m512i mid = _mm512_add_epi64(_mm512_add_epi64(_mm512_srli_epi64(p00, 32), _mm512_and_si512(p01, low32)),
                                       _mm512_and_si512(p10, low32));
  const __m512i lo = _mm512_or_si512(_mm512_and_si512(p00, low32), _mm512_slli_epi64(mid, 32));
  const __m512i hi = _mm512_add_epi64(
      _mm512_add_epi64(p11, _mm512_srli_epi64(mid, 32)),
      _mm512_add_epi64(_mm512_srli_epi64(p01, 32), _mm512_srli_epi64(p10, 32)));
  return _mm512_xor_si512(hi, lo);
}

/// poisson_rows_avx2 with four eight-lane vectors (blocks 2v ..< 2v + 8) to
/// a step, their eight wyrand outputs computed lane-parallel; the last
/// vectors (fewer than four) as in AVX2.
__attribute__((target("avx512f,avx512bw"))) static void poisson_rows_avx512(
    const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics, int16_t *acc, uint16_t *fill,
    int64_t *out, intptr_t vectors, intptr_t r, const int16_t thresholds[8]) {
  __m512i t[8];
  __m256i t2[8];
  for (int k = 0; k < 8; k++) {
    t[k] = _mm512_set1_epi16(thresholds[k]);
    t2[k] = _mm256_set1_epi16(thresholds[k]);
  }
  const uint64_t p0 = POISSON_P0, p1 = POISSON_P1;
  const __m512i flip = _mm512_set1_epi16((int16_t)0x8000), mix = _mm512_set1_epi64((long long)p1);
  const __m512i one = _mm512_set1_epi16(1);
  // Lane j: j · P₀ (block 2v + j of a step starting at block 2v).
  const __m512i steps = _mm512_set_epi64((long long)(7 * p0), (long long)(6 * p0), (long long)(5 * p0),
                                         (long long)(4 * p0), (long long)(3 * p0), (long long)(2 * p0),
                                         (long long)p0, 0);
  for (intptr_t i = 0; i < n; i++) {
    const uint64_t key = keys[i];
    const int32_t *slot = slots + i * metrics;
    intptr_t v = 0;
    for (; v + 4 <= vectors; v += 4) {
      // States key + (block + 1)·P₀ for blocks 2v ..< 2v + 8.
      const __m512i s = _mm512_add_epi64(_mm512_set1_epi64((long long)(key + (uint64_t)(2 * v + 1) * p0)), steps);
      const __m512i u = _mm512_xor_si512(wide_product_fold(s, _mm512_xor_si512(s, mix)), flip);
      // The negated count: minus one for each threshold below u.
      __m512i c = _mm512_setzero_si512();
      for (int k = 0; k < 5; k++) c = _mm512_mask_sub_epi16(c, _mm512_cmpgt_epi16_mask(u, t[k]), c, one);
      const __mmask32 high = _mm512_cmpgt_epi16_mask(u, t[5]);
      if (high) {
        c = _mm512_mask_sub_epi16(c, high, c, one);
        c = _mm512_mask_sub_epi16(c, _mm512_cmpgt_epi16_mask(u, t[6]), c, one);
        c = _mm512_mask_sub_epi16(c, _mm512_cmpgt_epi16_mask(u, t[7]), c, one);
      }
      for (intptr_t m = 0; m < metrics; m++) {
        int16_t *a = acc + ((intptr_t)slot[m] * vectors + v) * 8;
        _mm512_storeu_si512(a, _mm512_add_epi16(_mm512_loadu_si512(a), c));
      }
    }
    poisson_row_avx2(key, slot, metrics, acc, v, vectors, t2);
    poisson_fill(slot, metrics, acc, fill, out, vectors, r);
  }
}

int tally_poisson_rows_avx2(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics, int16_t *acc,
                            uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r, const int16_t thresholds[8]) {
  if (!tally_has_avx2()) return 0;
  poisson_rows_avx2(keys, n, slots, metrics, acc, fill, out, vectors, r, thresholds);
  return 1;
}

int tally_poisson_rows_avx512(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics,
                              int16_t *acc, uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r,
                              const int16_t thresholds[8]) {
  if (!tally_has_avx512()) return 0;
  poisson_rows_avx512(keys, n, slots, metrics, acc, fill, out, vectors, r, thresholds);
  return 1;
}

#else

int tally_has_avx2(void) { return 0; }

int tally_has_avx512(void) { return 0; }

int tally_error_sum_avx2(const float *t, const float *p, intptr_t n, int kind, double hi[8], double lo[8]) {
  (void)t;
  (void)p;
  (void)n;
  (void)kind;
  (void)hi;
  (void)lo;
  return 0;
}

int tally_binary_matches_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t *hits) {
  (void)p;
  (void)t;
  (void)n;
  (void)threshold;
  (void)hits;
  return 0;
}

int tally_threshold_counts_avx2(const float *p, const float *t, intptr_t n, float threshold, int64_t counts[5]) {
  (void)p;
  (void)t;
  (void)n;
  (void)threshold;
  (void)counts;
  return 0;
}

int tally_poisson_rows_avx2(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics, int16_t *acc,
                            uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r, const int16_t thresholds[8]) {
  (void)keys;
  (void)n;
  (void)slots;
  (void)metrics;
  (void)acc;
  (void)fill;
  (void)out;
  (void)vectors;
  (void)r;
  (void)thresholds;
  return 0;
}

int tally_poisson_rows_avx512(const uint64_t *keys, intptr_t n, const int32_t *slots, intptr_t metrics,
                              int16_t *acc, uint16_t *fill, int64_t *out, intptr_t vectors, intptr_t r,
                              const int16_t thresholds[8]) {
  (void)keys;
  (void)n;
  (void)slots;
  (void)metrics;
  (void)acc;
  (void)fill;
  (void)out;
  (void)vectors;
  (void)r;
  (void)thresholds;
  return 0;
}

#endif
